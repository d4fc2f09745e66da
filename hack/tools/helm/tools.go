//go:build tools

// Package tools pins the helm CLI that the chart tests build (hack/tools/build.sh).
package tools

import _ "helm.sh/helm/v4/cmd/helm"
