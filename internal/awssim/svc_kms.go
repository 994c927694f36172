package awssim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// KMS (JSON 1.1, TrentService): customer managed keys, their rotation,
// aliases and key policies (stored, not evaluated). With eventual
// consistency on, keys, key policies and aliases reach other services one
// delay after they are written (consistency.go, kmsSeen).
func kmsService() *service {
	return &service{
		Name:         "kms",
		Protocol:     protoJSON11,
		TargetPrefix: "TrentService",
		Init:         kmsInit,
		Ops: map[string]operation{
			"CreateKey":            kmsCreateKey,
			"ListKeys":             kmsListKeys,
			"DescribeKey":          kmsDescribeKey,
			"GetKeyRotationStatus": kmsGetKeyRotationStatus,
			"EnableKeyRotation":    kmsSetKeyRotation(true),
			"DisableKeyRotation":   kmsSetKeyRotation(false),
			"CreateAlias":          kmsCreateAlias,
			"PutKeyPolicy":         kmsPutKeyPolicy,
			"GetKeyPolicy":         kmsGetKeyPolicy,
		},
	}
}

type kmsState struct {
	keys    []*kmsKey
	aliases map[string]string // alias/name -> key ID
	// aliasWritten is when each alias was created (eventual consistency).
	aliasWritten map[string]time.Time
}

type kmsKey struct {
	ID, ARN, Account, Description string
	KeyUsage, KeySpec, State      string
	Manager                       string // CUSTOMER or AWS
	Created                       time.Time
	Rotation                      bool
	RotationDays                  int
	RotationStart                 time.Time
	Tags                          []map[string]string
	// Policy is the key policy: stored, not evaluated.
	Policy string
	// written is when the key was created or its policy last put (zero for
	// seeded keys), for eventual consistency.
	written time.Time
}

func kmsStateOf(a *account, region string) *kmsState {
	return regionData(a, region, "kms", func() *kmsState {
		return &kmsState{aliases: map[string]string{}, aliasWritten: map[string]time.Time{}}
	})
}

// kmsAliasWritten reports whether id names an existing alias (alias/name or
// an alias ARN) and when it was created.
func kmsAliasWritten(s *Server, caller *account, region, id string) (time.Time, bool) {
	a := caller
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 || s.accounts[parts[4]] == nil {
			return time.Time{}, false
		}
		region, a, id = parts[3], s.accounts[parts[4]], parts[5]
	}
	if !strings.HasPrefix(id, "alias/") {
		return time.Time{}, false
	}
	st := kmsStateOf(a, region)
	if _, ok := st.aliases[id]; !ok {
		return time.Time{}, false
	}
	return st.aliasWritten[id], true
}

// kmsDefaultPolicy is the key policy KMS gives a key created without one:
// the account's IAM policies decide.
func kmsDefaultPolicy(account string) string {
	return fmt.Sprintf(`{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::%s:root"},"Action":"kms:*","Resource":"*"}]}`, account)
}

// kmsResolve finds a key by ID, key ARN, alias name or alias ARN, in the
// caller's account or (for ARNs) in the account the ARN names.
func kmsResolve(s *Server, caller *account, region, id string) *kmsKey {
	a := caller
	if strings.HasPrefix(id, "arn:") {
		parts := strings.SplitN(id, ":", 6)
		if len(parts) != 6 {
			return nil
		}
		region, a = parts[3], s.accounts[parts[4]]
		if a == nil {
			return nil
		}
		id = parts[5]
		id = strings.TrimPrefix(id, "key/")
	}
	st := kmsStateOf(a, region)
	if strings.HasPrefix(id, "alias/") {
		id = st.aliases[id]
	}
	for _, k := range st.keys {
		if k.ID == id {
			return k
		}
	}
	return nil
}

func kmsNotFound(id string) error {
	return errBadRequest("NotFoundException", "Key '%s' does not exist", id)
}

func kmsMetadata(k *kmsKey) map[string]any {
	m := map[string]any{
		"AWSAccountId": k.Account, "KeyId": k.ID, "Arn": k.ARN, "CreationDate": epoch(k.Created),
		"Enabled": k.State == "Enabled", "Description": k.Description, "KeyUsage": k.KeyUsage,
		"KeyState": k.State, "Origin": "AWS_KMS", "KeyManager": k.Manager,
		"CustomerMasterKeySpec": k.KeySpec, "KeySpec": k.KeySpec, "MultiRegion": false,
	}
	if k.KeyUsage == "ENCRYPT_DECRYPT" {
		if k.KeySpec == "SYMMETRIC_DEFAULT" {
			m["EncryptionAlgorithms"] = []string{"SYMMETRIC_DEFAULT"}
		} else {
			m["EncryptionAlgorithms"] = []string{"RSAES_OAEP_SHA_1", "RSAES_OAEP_SHA_256"}
		}
	}
	return m
}

func kmsCreateKey(req *request) (any, error) {
	var in struct {
		Description string              `json:"Description"`
		KeyUsage    string              `json:"KeyUsage"`
		KeySpec     string              `json:"KeySpec"`
		CMKSpec     string              `json:"CustomerMasterKeySpec"`
		Tags        []map[string]string `json:"Tags"`
		Policy      string              `json:"Policy"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.KeyUsage == "" {
		in.KeyUsage = "ENCRYPT_DECRYPT"
	}
	if in.KeySpec == "" {
		in.KeySpec = in.CMKSpec
	}
	if in.KeySpec == "" {
		in.KeySpec = "SYMMETRIC_DEFAULT"
	}
	switch in.KeyUsage {
	case "ENCRYPT_DECRYPT", "SIGN_VERIFY", "GENERATE_VERIFY_MAC", "KEY_AGREEMENT":
	default:
		return nil, errBadRequest("ValidationException", "1 validation error detected: Value '%s' at 'keyUsage' failed to satisfy constraint", in.KeyUsage)
	}
	if in.Policy != "" && !json.Valid([]byte(in.Policy)) {
		return nil, errBadRequest("MalformedPolicyDocumentException", "The key policy is not a valid JSON document.")
	}
	k := kmsNewKey(req.srv, req.Account.ID, req.Region, in.Description, in.KeyUsage, in.KeySpec, req.srv.now())
	k.Tags = in.Tags
	k.Policy, k.written = in.Policy, req.srv.now()
	if k.Policy == "" {
		k.Policy = kmsDefaultPolicy(req.Account.ID)
	}
	st := kmsStateOf(req.Account, req.Region)
	st.keys = append(st.keys, k)
	return map[string]any{"KeyMetadata": kmsMetadata(k)}, nil
}

func kmsNewKey(s *Server, account, region, desc, usage, spec string, created time.Time) *kmsKey {
	h := s.randomID(32, lowerHex)
	id := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	return &kmsKey{
		ID: id, ARN: fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", region, account, id), Account: account,
		Description: desc, KeyUsage: usage, KeySpec: spec, State: "Enabled", Manager: "CUSTOMER",
		Created: created.UTC(),
	}
}

func kmsListKeys(req *request) (any, error) {
	var in struct {
		Limit  int    `json:"Limit"`
		Marker string `json:"Marker"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	limit, err := req.pageLimit(in.Limit, 100, 1000)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(kmsStateOf(req.Account, req.Region).keys, in.Marker, limit,
		errBadRequest("InvalidMarkerException", "Invalid marker"))
	if err != nil {
		return nil, err
	}
	keys := []map[string]string{}
	for _, k := range page {
		keys = append(keys, map[string]string{"KeyId": k.ID, "KeyArn": k.ARN})
	}
	out := map[string]any{"Keys": keys, "Truncated": next != ""}
	if next != "" {
		out["NextMarker"] = next
	}
	return out, nil
}

func kmsKeyArg(req *request) (*kmsKey, error) {
	var in struct {
		KeyId                string `json:"KeyId"`
		RotationPeriodInDays int    `json:"RotationPeriodInDays"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if in.KeyId == "" {
		return nil, errBadRequest("ValidationException", "1 validation error detected: Value null at 'keyId' failed to satisfy constraint: Member must not be null")
	}
	k := kmsResolve(req.srv, req.Account, req.Region, in.KeyId)
	if k == nil {
		return nil, kmsNotFound(in.KeyId)
	}
	return k, nil
}

func kmsDescribeKey(req *request) (any, error) {
	k, err := kmsKeyArg(req)
	if err != nil {
		return nil, err
	}
	return map[string]any{"KeyMetadata": kmsMetadata(k)}, nil
}

func kmsGetKeyRotationStatus(req *request) (any, error) {
	k, err := kmsKeyArg(req)
	if err != nil {
		return nil, err
	}
	if k.Account != req.Account.ID {
		return nil, errBadRequest("AccessDeniedException", "User is not authorized to perform kms:GetKeyRotationStatus on key %s", k.ARN)
	}
	out := map[string]any{"KeyRotationEnabled": k.Rotation, "KeyId": k.ARN}
	if k.Rotation {
		out["RotationPeriodInDays"] = k.RotationDays
		out["NextRotationDate"] = epoch(k.RotationStart.Add(time.Duration(k.RotationDays) * 24 * time.Hour))
	}
	return out, nil
}

func kmsSetKeyRotation(on bool) operation {
	return func(req *request) (any, error) {
		var in struct {
			KeyId                string `json:"KeyId"`
			RotationPeriodInDays int    `json:"RotationPeriodInDays"`
		}
		if err := req.decodeJSON(&in); err != nil {
			return nil, err
		}
		k := kmsResolve(req.srv, req.Account, req.Region, in.KeyId)
		if k == nil || k.Account != req.Account.ID {
			return nil, kmsNotFound(in.KeyId)
		}
		if k.KeySpec != "SYMMETRIC_DEFAULT" {
			return nil, errBadRequest("UnsupportedOperationException", "%s key rotation is not supported for asymmetric or HMAC keys", k.ARN)
		}
		if k.State != "Enabled" {
			return nil, errBadRequest("KMSInvalidStateException", "%s is %s", k.ARN, k.State)
		}
		if !on {
			k.Rotation = false
			return map[string]any{}, nil
		}
		days := in.RotationPeriodInDays
		if days == 0 {
			days = 365
		}
		if days < 90 || days > 2560 {
			return nil, errBadRequest("ValidationException", "1 validation error detected: Value '%d' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between 90 and 2560", days)
		}
		if !k.Rotation {
			k.RotationStart = req.srv.now()
		}
		k.Rotation, k.RotationDays = true, days
		return map[string]any{}, nil
	}
}

func kmsCreateAlias(req *request) (any, error) {
	var in struct {
		AliasName   string `json:"AliasName"`
		TargetKeyId string `json:"TargetKeyId"`
	}
	if err := req.decodeJSON(&in); err != nil {
		return nil, err
	}
	if !strings.HasPrefix(in.AliasName, "alias/") || strings.HasPrefix(in.AliasName, "alias/aws/") {
		return nil, errBadRequest("ValidationException", "Alias must start with the prefix \"alias/\" and must not begin with \"alias/aws/\"")
	}
	st := kmsStateOf(req.Account, req.Region)
	if _, ok := st.aliases[in.AliasName]; ok {
		return nil, errBadRequest("AlreadyExistsException", "An alias with the name arn:aws:kms:%s:%s:%s already exists", req.Region, req.Account.ID, in.AliasName)
	}
	k := kmsResolve(req.srv, req.Account, req.Region, in.TargetKeyId)
	if k == nil || k.Account != req.Account.ID {
		return nil, kmsNotFound(in.TargetKeyId)
	}
	st.aliases[in.AliasName] = k.ID
	st.aliasWritten[in.AliasName] = req.srv.now()
	return map[string]any{}, nil
}

type kmsPolicyInput struct {
	KeyId      string `json:"KeyId"`
	PolicyName string `json:"PolicyName"`
	Policy     string `json:"Policy"`
}

// kmsOwnKey resolves the input's key for an operation only its own account
// may call.
func kmsOwnKey(req *request, in *kmsPolicyInput) (*kmsKey, error) {
	if err := req.decodeJSON(in); err != nil {
		return nil, err
	}
	k := kmsResolve(req.srv, req.Account, req.Region, in.KeyId)
	if k == nil || k.Account != req.Account.ID {
		return nil, kmsNotFound(in.KeyId)
	}
	return k, nil
}

func kmsPutKeyPolicy(req *request) (any, error) {
	var in kmsPolicyInput
	k, err := kmsOwnKey(req, &in)
	if err != nil {
		return nil, err
	}
	if !json.Valid([]byte(in.Policy)) {
		return nil, errBadRequest("MalformedPolicyDocumentException", "The key policy is not a valid JSON document.")
	}
	k.Policy, k.written = in.Policy, req.srv.now()
	return map[string]any{}, nil
}

func kmsGetKeyPolicy(req *request) (any, error) {
	var in kmsPolicyInput
	k, err := kmsOwnKey(req, &in)
	if err != nil {
		return nil, err
	}
	policy := k.Policy
	if policy == "" {
		policy = kmsDefaultPolicy(k.Account)
	}
	return map[string]any{"Policy": policy, "PolicyName": "default"}, nil
}

func kmsInit(s *Server, seed *Seed) error {
	var err error
	walkSeedAccounts(seed, func(sa *SeedAccount) {
		for _, sr := range sa.Regions {
			for i, sk := range sr.KMSKeys {
				if len(sk.ID) != 36 {
					err = fmt.Errorf("account %s: kms_key %q: the ID must be a key ID (UUID)", sa.ID, sk.ID)
					return
				}
				created := s.now().Add(-time.Duration(300+i) * 24 * time.Hour).Truncate(time.Second)
				k := &kmsKey{
					ID: sk.ID, ARN: fmt.Sprintf("arn:aws:kms:%s:%s:key/%s", sr.Name, sa.ID, sk.ID), Account: sa.ID,
					Description: sk.Description, KeyUsage: "ENCRYPT_DECRYPT", KeySpec: "SYMMETRIC_DEFAULT",
					State: "Enabled", Manager: "CUSTOMER", Created: created.UTC(),
				}
				if sk.Rotation {
					k.Rotation, k.RotationDays, k.RotationStart = true, 365, created
				}
				st := kmsStateOf(s.accounts[sa.ID], sr.Name)
				st.keys = append(st.keys, k)
			}
		}
	})
	return err
}
