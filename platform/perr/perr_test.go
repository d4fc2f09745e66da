package perr

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func TestFromAPI(t *testing.T) {
	gr := schema.GroupResource{Group: "apps", Resource: "deployments"}
	quota := apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "web-1",
		errors.New("exceeded quota: k8sm-quota, requested: pods=1,requests.cpu=500m, used: pods=30,requests.cpu=3800m, limited: pods=30,requests.cpu=4"))
	tests := []struct {
		err       error
		kind      Kind
		resources []string
	}{
		{apierrors.NewNotFound(gr, "web"), NotFound, nil},
		{apierrors.NewAlreadyExists(gr, "web"), AlreadyExists, nil},
		{apierrors.NewForbidden(gr, "web", errors.New(`User "a@example.com" cannot patch`)), Forbidden, nil},
		{apierrors.NewConflict(gr, "web", errors.New("modified")), Conflict, nil},
		{apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", nil), Invalid, nil},
		{apierrors.NewServiceUnavailable("down"), Unavailable, nil},
		{quota, QuotaExceeded, []string{"pods", "requests.cpu"}},
		{fmt.Errorf("dial tcp: refused"), Internal, nil},
	}
	for _, tc := range tests {
		err := FromAPI(tc.err, "scale web")
		var pe *Error
		if !errors.As(err, &pe) || pe.Kind != tc.kind {
			t.Errorf("FromAPI(%v) kind = %v, want %v", tc.err, KindOf(err), tc.kind)
			continue
		}
		if !slices.Equal(pe.Resources, tc.resources) {
			t.Errorf("resources = %v, want %v", pe.Resources, tc.resources)
		}
		if !errors.Is(err, &Error{Kind: tc.kind}) {
			t.Errorf("errors.Is by kind fails for %v", tc.kind)
		}
	}
	if FromAPI(nil, "x") != nil {
		t.Error("FromAPI(nil) != nil")
	}
}

func FuzzQuotaResources(f *testing.F) {
	f.Add("exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2")
	f.Add("limited: ")
	f.Fuzz(func(t *testing.T, msg string) {
		if rs := quotaResources(msg); len(rs) == 0 {
			t.Fatal("quotaResources returned nothing")
		}
	})
}
