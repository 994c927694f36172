package awssim

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// S3 versioning and Object Lock: bucket configuration, the per-object
// headers of PutObject and the retention check of DeleteObject.

// s3ObjectLockConfiguration is ObjectLockConfiguration.
type s3ObjectLockConfiguration struct {
	ObjectLockEnabled string            `xml:"ObjectLockEnabled,omitempty"`
	Rule              *s3ObjectLockRule `xml:"Rule,omitempty"`
}

type s3ObjectLockRule struct {
	DefaultRetention *s3DefaultRetention `xml:"DefaultRetention,omitempty"`
}

type s3DefaultRetention struct {
	Mode  string `xml:"Mode,omitempty"`
	Days  *int   `xml:"Days,omitempty"`
	Years *int   `xml:"Years,omitempty"`
}

// retainUntil is when a version written at t is retained until under the
// default retention (S3 counts a year as 365 days).
func (d *s3DefaultRetention) retainUntil(t time.Time) time.Time {
	days := 0
	if d.Days != nil {
		days = *d.Days
	}
	if d.Years != nil {
		days = *d.Years * 365
	}
	return t.Add(time.Duration(days) * 24 * time.Hour)
}

// s3LockHeaders reads a PutObject's Object Lock headers.
func s3LockHeaders(req *request, b *s3Bucket, now time.Time) (mode string, until time.Time, legalHold bool, err error) {
	h := req.HTTP.Header
	mode = h.Get("X-Amz-Object-Lock-Mode")
	date := h.Get("X-Amz-Object-Lock-Retain-Until-Date")
	hold := h.Get("X-Amz-Object-Lock-Legal-Hold")
	if mode == "" && date == "" && hold == "" {
		return "", time.Time{}, false, nil
	}
	// The headers are checked before the bucket: one of mode and date
	// alone is InvalidArgument even on a bucket without Object Lock.
	if (mode == "") != (date == "") {
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied")
	}
	if mode != "" && mode != "GOVERNANCE" && mode != "COMPLIANCE" {
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "Unknown wormMode directive.")
	}
	switch hold {
	case "", "OFF":
	case "ON":
		legalHold = true
	default:
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "Legal Hold must be either of 'ON' or 'OFF'")
	}
	if b.ObjectLock == nil {
		return "", time.Time{}, false, errBadRequest("InvalidRequest", "Bucket is missing ObjectLockConfiguration")
	}
	if mode == "" {
		return "", time.Time{}, legalHold, nil
	}
	until, perr := time.Parse(time.RFC3339Nano, date)
	if perr != nil {
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "The retain until date must be provided in ISO 8601 format")
	}
	if !until.After(now) {
		return "", time.Time{}, false, errBadRequest("InvalidArgument", "The retain until date must be in the future!")
	}
	return mode, until.UTC(), legalHold, nil
}

// s3CheckRetention refuses to delete a version under a legal hold or an
// unexpired retention: COMPLIANCE always, GOVERNANCE unless the caller sends
// x-amz-bypass-governance-retention (which needs
// s3:BypassGovernanceRetention; the simulator does not evaluate IAM).
func s3CheckRetention(req *request, v *s3Version) error {
	denied := errForbidden("AccessDenied", "Access Denied because object protected by object lock.")
	if v.LegalHold {
		return denied
	}
	if v.LockMode == "" || !req.srv.now().Before(v.RetainUntil) {
		return nil
	}
	if v.LockMode == "GOVERNANCE" && strings.EqualFold(req.HTTP.Header.Get("X-Amz-Bypass-Governance-Retention"), "true") {
		return nil
	}
	return denied
}

// --- versioning ----------------------------------------------------------

type s3VersioningConfiguration struct {
	XMLNS     string `xml:"xmlns,attr,omitempty"`
	Status    string `xml:"Status,omitempty"`
	MFADelete string `xml:"MfaDelete,omitempty"`
}

func s3GetBucketVersioning(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	return &restResponse{Body: s3VersioningConfiguration{XMLNS: s3XMLNS, Status: b.Versioning}, RootElement: "VersioningConfiguration"}, nil
}

func s3PutBucketVersioning(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	var cfg s3VersioningConfiguration
	if err := xmlUnmarshalStrict(req.Body, &cfg); err != nil {
		return nil, malformedXML()
	}
	if cfg.MFADelete == "Enabled" {
		return nil, newError(http.StatusNotImplemented, "NotImplemented", "the simulator does not implement MFA delete")
	}
	switch cfg.Status {
	case "Enabled":
	case "Suspended":
		if b.ObjectLock != nil {
			return nil, errConflict("InvalidBucketState", "An Object Lock configuration is present on this bucket, so the versioning state cannot be changed.")
		}
	default:
		return nil, malformedXML()
	}
	b.Versioning = cfg.Status
	return nil, nil
}

// --- Object Lock configuration ------------------------------------------

func s3GetObjectLockConfiguration(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	if b.ObjectLock == nil {
		return nil, errNotFound("ObjectLockConfigurationNotFoundError", "Object Lock configuration does not exist for this bucket")
	}
	return &restResponse{Body: struct {
		XMLNS string `xml:"xmlns,attr"`
		s3ObjectLockConfiguration
	}{s3XMLNS, *b.ObjectLock}, RootElement: "ObjectLockConfiguration"}, nil
}

func s3PutObjectLockConfiguration(req *request) (any, error) {
	b, err := s3BucketFor(req)
	if err != nil {
		return nil, err
	}
	if err := s3RequireBodyIntegrity(req); err != nil {
		return nil, err
	}
	var cfg s3ObjectLockConfiguration
	if err := xmlUnmarshalStrict(req.Body, &cfg); err != nil || cfg.ObjectLockEnabled != "Enabled" {
		return nil, malformedXML()
	}
	if r := cfg.Rule; r != nil {
		d := r.DefaultRetention
		if d == nil || (d.Days == nil) == (d.Years == nil) {
			return nil, malformedXML()
		}
		if d.Mode != "GOVERNANCE" && d.Mode != "COMPLIANCE" {
			return nil, malformedXML()
		}
		if (d.Days != nil && *d.Days <= 0) || (d.Years != nil && *d.Years <= 0) {
			return nil, errBadRequest("InvalidArgument", "Default retention period must be a positive integer value")
		}
		if (d.Days != nil && *d.Days > 36500) || (d.Years != nil && *d.Years > 100) {
			return nil, errBadRequest("InvalidArgument", "Default retention period is too large.")
		}
	}
	if b.ObjectLock == nil && b.Versioning != "Enabled" {
		// Object Lock can be enabled on an existing bucket (since
		// November 2023) only once versioning is on.
		return nil, errConflict("InvalidBucketState", "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration")
	}
	b.ObjectLock = &cfg
	return nil, nil
}

// xmlUnmarshalStrict decodes a request document, refusing an empty body.
func xmlUnmarshalStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return errString("empty body")
	}
	return xml.Unmarshal(body, v)
}
