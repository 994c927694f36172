package awssim

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// paginate returns the page of items that starts at token and holds at most
// limit items, and the token of the next page ("" on the last page). A token
// the server did not issue yields badToken, which each service names its own
// way (InvalidInputException, InvalidNextToken, InvalidPaginationToken, ...).
//
// Tokens encode an offset into the listing. Listings are built in a stable
// order, so paging is consistent as long as the collection does not change
// between pages, which is as much as AWS promises too.
func paginate[T any](items []T, token string, limit int, badToken *apiError) ([]T, string, error) {
	start := 0
	if token != "" {
		off, ok := decodeToken(token)
		if !ok || off > len(items) {
			return nil, "", badToken
		}
		start = off
	}
	if limit <= 0 {
		limit = len(items)
	}
	end := start + limit
	if end >= len(items) {
		return items[start:], "", nil
	}
	return items[start:end], encodeToken(end), nil
}

const tokenPrefix = "awssim-page:"

func encodeToken(offset int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + strconv.Itoa(offset)))
}

func decodeToken(tok string) (int, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	s, ok := strings.CutPrefix(string(raw), tokenPrefix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// pageLimit resolves the page size of a list call: the client's MaxResults /
// MaxItems (validated against the API's maximum), else the API's default,
// both capped by Options.PageSize so tests can force paging even when clients
// ask for large pages (AWS may always return fewer items than asked).
func (r *request) pageLimit(requested, awsDefault, awsMax int) (int, error) {
	n := awsDefault
	if requested != 0 {
		if requested < 1 || (awsMax > 0 && requested > awsMax) {
			return 0, errBadRequest(r.svc.Codes.Validation,
				"1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and %d", requested, awsMax)
		}
		n = requested
	}
	if ps := r.srv.opts.PageSize; ps > 0 && (n == 0 || ps < n) {
		n = ps
	}
	return n, nil
}
