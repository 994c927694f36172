package awssim

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Helpers for Query protocol parameters. Query flattens structures into
// dotted keys: EC2 lists are "GroupId.1", "Filter.1.Value.2"; awsQuery lists
// (IAM, STS) add ".member": "Tags.member.1.Key".

// param returns a top-level Query parameter.
func (r *request) param(name string) string { return r.Form.Get(name) }

// paramInt returns an integer Query parameter, 0 when absent.
func (r *request) paramInt(name string) (int, error) {
	v := r.Form.Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, errBadRequest(r.svc.Codes.Validation, "Invalid value %q for %s", v, name)
	}
	return n, nil
}

// paramBool returns a boolean Query parameter and whether it was present.
func (r *request) paramBool(name string) (val, present bool) {
	v := r.Form.Get(name)
	return v == "true", v != ""
}

// listIndexes returns the distinct N of keys "prefix.N" or "prefix.N.*" in
// ascending order.
func listIndexes(v url.Values, prefix string) []int {
	seen := map[int]bool{}
	for k := range v {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		head, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(head); err == nil {
			seen[n] = true
		}
	}
	out := make([]int, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Ints(out)
	return out
}

// listValues returns the scalar list "prefix.1", "prefix.2", ...
func listValues(v url.Values, prefix string) []string {
	var out []string
	for _, n := range listIndexes(v, prefix) {
		if s := v.Get(prefix + "." + strconv.Itoa(n)); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// listStructs returns one url.Values per element of the structure list
// "prefix.N.*", with keys relative to the element.
func listStructs(v url.Values, prefix string) []url.Values {
	var out []url.Values
	for _, n := range listIndexes(v, prefix) {
		out = append(out, subValues(v, prefix+"."+strconv.Itoa(n)))
	}
	return out
}

// subValues returns the keys under "prefix." with the prefix removed.
func subValues(v url.Values, prefix string) url.Values {
	out := url.Values{}
	for k, vs := range v {
		if rest, ok := strings.CutPrefix(k, prefix+"."); ok {
			out[rest] = vs
		}
	}
	return out
}
