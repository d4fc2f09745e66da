package builtin

import (
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// More slot extractors: a bare version tag as an image, log filters and windows, a month, an
// amount with its unit, and the name and image of something new.

var (
	versionRe   = regexp.MustCompile(`(?:^|[\s:：])v?(\d+\.\d+(?:\.\d+)?(?:-[a-z0-9.]+)?)(?:$|[\s,，。!！?？])`)
	grepRe      = regexp.MustCompile(`(?i)(?:grep(?:\s+for)?|containing|包含|有没有)\s*["']?([^\s"'，。?？]+)`)
	enWindowRe  = regexp.MustCompile(`\b(?:last|past)\s+(\d+\s*)?(seconds?|secs?|minutes?|mins?|hours?|hrs?|days?)\b`)
	zhWindowRe  = regexp.MustCompile(`(?:过去|最近|前)\s*(\d+)?\s*个?\s*(秒|分钟|小时|天)`)
	zhMonthRe   = regexp.MustCompile(`(?:(\d{4})\s*年\s*)?(\d{1,2})\s*月`)
	isoMonthRe  = regexp.MustCompile(`\b(\d{4})-(\d{2})\b`)
	enMonthRe   = regexp.MustCompile(`\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?(?:\s+(\d{4}))?\b`)
	lastMonthRe = regexp.MustCompile(`\blast month\b|上个?月`)
	quantityRe  = regexp.MustCompile(`(\d+(?:\.\d+)?)\s*(gi|mi|ti|g|m|核|cores?|c)?(?:\b|$|[^a-z])`)
	nameIsRe    = regexp.MustCompile(`\bname\s*[=:]\s*([a-z][a-z0-9-]*[a-z0-9])`)
	nameAfterRe = regexp.MustCompile(`(?:\bapp|\bservice|\bapplication|应用|服务)\s*[:：]?\s+([a-z][a-z0-9-]*[a-z0-9])|(?:spin up|起一个|创建|新建|\bcreate)\s+([a-z][a-z0-9-]*[a-z0-9])`)
	newImageRe  = regexp.MustCompile(`(?:\bimage|镜像|\busing|用)\s*[:=]?\s*([a-z0-9][a-z0-9./_:@-]*[a-z0-9])|\ban?\s+([a-z0-9][a-z0-9./_:-]*)\s+(?:app|service)\b`)
	quarterRe   = regexp.MustCompile(`\ba quarter\b|\bquarter of\b|四分之一`)
	halfShareRe = regexp.MustCompile(`\bhalf\b|一半`)
	tenthsRe    = regexp.MustCompile(`(\d)\s*成`)
	months      = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	notNewNames = map[string]bool{"named": true, "called": true, "from": true, "using": true, "with": true, "new": true, "app": true, "an": true, "a": true}
)

// bareTag turns a version into an image: "nginx 升到 1.27.3" is the app's repository with that
// tag, and "search-api:0.9.0" for an app whose image lives elsewhere is that repository too.
func (sl *slots) bareTag(masked string, v view) {
	if len(sl.apps) == 0 {
		return
	}
	repo := func(img string) string {
		img, _, _ = strings.Cut(img, "@")
		if i := strings.LastIndex(img, ":"); i > strings.LastIndex(img, "/") {
			return img[:i]
		}
		return img
	}
	if sl.image == "" && sl.tag != "" {
		if img := v.images[sl.apps[0]]; img != "" {
			sl.image = repo(img) + ":" + sl.tag
		}
		return
	}
	if name, tag, ok := strings.Cut(sl.image, ":"); ok && !strings.Contains(name, "/") && slices.Contains(v.apps, name) {
		if img := v.images[name]; img != "" && repo(img) != name {
			sl.image = repo(img) + ":" + tag
		}
	}
}

// words fills the slots read from words: log filters and windows, a month, an amount, a new name.
func (sl *slots) words(raw, s string, v view) {
	unit := map[string]int{"s": 1, "秒": 1, "m": 60, "分": 60, "h": 3600, "小": 3600, "d": 86400, "天": 86400}
	if m := enWindowRe.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(strings.TrimSpace(m[1]))
		if err != nil {
			n = 1
		}
		sl.sinceSecs = n * unit[m[2][:1]]
	} else if m := zhWindowRe.FindStringSubmatch(s); m != nil {
		n, err := strconv.Atoi(m[1])
		if err != nil {
			n = 1
		}
		u, _ := firstRune(m[2])
		sl.sinceSecs = n * unit[u]
	}
	sl.period = period(s, v.today)
	sl.resources = resourcesIn(s)
	if ms := quantityRe.FindAllStringSubmatch(s, -1); len(ms) > 0 {
		m := ms[len(ms)-1]
		switch m[2] {
		case "gi", "g":
			sl.quantity = m[1] + "Gi"
		case "mi":
			sl.quantity = m[1] + "Mi"
		case "ti":
			sl.quantity = m[1] + "Ti"
		case "m":
			sl.quantity = m[1] + "m"
		default:
			sl.quantity = m[1]
		}
	}
	sl.newName = sl.name
	if sl.newName == "" {
		if m := nameIsRe.FindStringSubmatch(s); m != nil {
			sl.newName = m[1]
		} else {
			for _, m := range nameAfterRe.FindAllStringSubmatch(s, -1) {
				if n := first(m[1], m[2]); !notNewNames[n] && !stopWords[n] && !v.cat.isVerbWord(n) {
					sl.newName = n
					break
				}
			}
		}
	}
	if m := newImageRe.FindStringSubmatch(s); m != nil {
		sl.newImage = first(m[1], m[2])
	}
	if sl.image != "" {
		sl.newImage = sl.image
	}
	if sl.percent == 0 {
		switch {
		case quarterRe.MatchString(s):
			sl.percent = 25
		case halfShareRe.MatchString(s):
			sl.percent = 50
		default:
			if m := tenthsRe.FindStringSubmatch(s); m != nil {
				n, _ := strconv.Atoi(m[1])
				sl.percent = n * 10
			}
		}
	}
}

func firstRune(s string) (string, bool) {
	for _, r := range s {
		return string(r), true
	}
	return "", false
}

// period is the month a message names, as YYYY-MM ("2025年3月", "october 2026", "2026-09", "last
// month"); "" for none (the current month).
func period(s string, today time.Time) string {
	if lastMonthRe.MatchString(s) {
		return today.AddDate(0, -1, 0).Format("2006-01")
	}
	if m := isoMonthRe.FindStringSubmatch(s); m != nil {
		return m[1] + "-" + m[2]
	}
	year := strconv.Itoa(today.Year())
	if m := zhMonthRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[2])
		if n >= 1 && n <= 12 {
			return first(m[1], year) + "-" + twoDigits(n)
		}
	}
	if m := enMonthRe.FindStringSubmatch(s); m != nil && (m[2] != "" || m[1] != "may") {
		return first(m[2], year) + "-" + twoDigits(slices.Index(months, m[1])+1)
	}
	return ""
}

func twoDigits(n int) string {
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}
