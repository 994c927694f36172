package activities

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	iamtypes "github.com/aws/aws-sdk-go-v2/service/iam/types"
	"go.temporal.io/sdk/temporal"
)

// iamUsersAPI is the part of the IAM client the user-credential controls use.
type iamUsersAPI interface {
	iam.ListAccessKeysAPIClient
	GenerateCredentialReport(context.Context, *iam.GenerateCredentialReportInput, ...func(*iam.Options)) (*iam.GenerateCredentialReportOutput, error)
	GetCredentialReport(context.Context, *iam.GetCredentialReportInput, ...func(*iam.Options)) (*iam.GetCredentialReportOutput, error)
	GetAccessKeyLastUsed(context.Context, *iam.GetAccessKeyLastUsedInput, ...func(*iam.Options)) (*iam.GetAccessKeyLastUsedOutput, error)
	UpdateAccessKey(context.Context, *iam.UpdateAccessKeyInput, ...func(*iam.Options)) (*iam.UpdateAccessKeyOutput, error)
}

func iamUsers(env Env) iamUsersAPI { return iam.NewFromConfig(env.Config) }

var credentialReportPermissions = []string{"iam:GenerateCredentialReport", "iam:GetCredentialReport"}

// credentialUser is one user row of the IAM credential report.
type credentialUser struct {
	Name, ARN        string
	Created          time.Time
	PasswordEnabled  bool
	PasswordLastUsed time.Time // zero: never (or no password)
	PasswordChanged  time.Time
	MFAActive        bool
}

// credentialReportPolls bounds how long one check waits for IAM to build
// the report; past that the activity is retried with backoff instead.
var credentialReportPolls = []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second}

// credentialReport generates (when needed) and parses the credential report.
// It skips the root user's row: root has its own controls.
func credentialReport(ctx context.Context, api iamUsersAPI) ([]credentialUser, error) {
	var body []byte
	for _, wait := range credentialReportPolls {
		if err := waitFor(ctx, wait); err != nil {
			return nil, err
		}
		if _, err := api.GenerateCredentialReport(ctx, &iam.GenerateCredentialReportInput{}); err != nil {
			return nil, err
		}
		out, err := api.GetCredentialReport(ctx, &iam.GetCredentialReportInput{})
		var notReady *iamtypes.CredentialReportNotReadyException
		var notPresent *iamtypes.CredentialReportNotPresentException
		var expired *iamtypes.CredentialReportExpiredException
		if errors.As(err, &notReady) || errors.As(err, &notPresent) || errors.As(err, &expired) {
			continue
		}
		if err != nil {
			return nil, err
		}
		body = out.Content
		break
	}
	if body == nil {
		// Retryable: IAM is still building the report.
		return nil, temporal.NewApplicationError("the IAM credential report is not ready yet", "CredentialReportNotReady")
	}
	return parseCredentialReport(body)
}

func parseCredentialReport(body []byte) ([]credentialUser, error) {
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("parse credential report: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	get := func(row []string, name string) string {
		if i, ok := col[name]; ok && i < len(row) {
			return row[i]
		}
		return ""
	}
	var out []credentialUser
	for _, row := range rows[1:] {
		u := credentialUser{Name: get(row, "user"), ARN: get(row, "arn")}
		if u.Name == "<root_account>" {
			continue
		}
		u.Created = reportTime(get(row, "user_creation_time"))
		u.PasswordEnabled = get(row, "password_enabled") == "true"
		u.PasswordLastUsed = reportTime(get(row, "password_last_used"))
		u.PasswordChanged = reportTime(get(row, "password_last_changed"))
		u.MFAActive = get(row, "mfa_active") == "true"
		out = append(out, u)
	}
	return out, nil
}

// reportTime parses the report's ISO 8601 times; "N/A", "no_information"
// and "not_supported" are zero.
func reportTime(s string) time.Time {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04:05+00:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t
		}
	}
	return time.Time{}
}

// accessKey is one access key with when it was last used.
type accessKey struct {
	ID       string
	Status   string
	Created  time.Time
	LastUsed time.Time // zero: never
	Service  string
}

// accessKeys lists a user's keys; with lastUsed it also asks when each
// active key was last used.
func accessKeys(ctx context.Context, api iamUsersAPI, user string, lastUsed bool) ([]accessKey, error) {
	var out []accessKey
	p := iam.NewListAccessKeysPaginator(api, &iam.ListAccessKeysInput{UserName: aws.String(user)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, k := range page.AccessKeyMetadata {
			out = append(out, accessKey{ID: aws.ToString(k.AccessKeyId), Status: string(k.Status), Created: aws.ToTime(k.CreateDate)})
		}
	}
	if lastUsed {
		for i := range out {
			if out[i].Status != string(iamtypes.StatusTypeActive) {
				continue
			}
			lu, err := api.GetAccessKeyLastUsed(ctx, &iam.GetAccessKeyLastUsedInput{AccessKeyId: aws.String(out[i].ID)})
			if err != nil {
				return nil, err
			}
			if lu.AccessKeyLastUsed != nil {
				out[i].LastUsed = aws.ToTime(lu.AccessKeyLastUsed.LastUsedDate)
				out[i].Service = aws.ToString(lu.AccessKeyLastUsed.ServiceName)
			}
		}
	}
	return out, nil
}

// deactivateKeys sets the planned keys that are still active to Inactive.
// Keys are never deleted: a deactivated key can be switched back on if
// something turns out to depend on it.
func deactivateKeys(ctx context.Context, api iamUsersAPI, user string, planned []string, out *applied) error {
	keys, err := accessKeys(ctx, api, user, false)
	if err != nil {
		var nse *iamtypes.NoSuchEntityException
		if errors.As(err, &nse) {
			return nil // the user is gone
		}
		return err
	}
	for _, k := range keys {
		if k.Status != string(iamtypes.StatusTypeActive) || !slices.Contains(planned, k.ID) {
			continue
		}
		if _, err := api.UpdateAccessKey(ctx, &iam.UpdateAccessKeyInput{UserName: aws.String(user), AccessKeyId: aws.String(k.ID), Status: iamtypes.StatusTypeInactive}); err != nil {
			return err
		}
		out.call("iam:UpdateAccessKey %s %s Status=Inactive", user, k.ID)
	}
	return nil
}

// iamARN is an IAM resource ARN (IAM is global: no region).
func iamARN(env Env, resource string) string {
	return "arn:" + env.Partition + ":iam::" + env.AccountID + ":" + resource
}
