package awssim

import (
	"fmt"
	"sort"
	"time"
)

// organization is the AWS Organizations view of the seed.
type organization struct {
	ID          string
	ARN         string
	MasterID    string
	MasterEmail string
	RootID      string
	RootARN     string
	RootName    string
	ous         map[string]*orgUnit
	ouOrder     []string
	policies    map[string]*orgPolicy
	policyOrder []string
	attachments map[string][]string // policy ID -> target IDs in attach order
	policyTypes map[string]string   // policy type -> ENABLED / PENDING_ENABLE
	tags        map[string]map[string]string
}

type orgUnit struct {
	ID, ARN, Name, ParentID string
}

type orgPolicy struct {
	ID, ARN, Name, Description, Type, Content string
	AWSManaged                                bool
}

// account is one AWS account and everything in it. Global services keep
// their state in global, regional ones in regions; both are keyed by service
// name and created on first use (see accountData / regionData).
type account struct {
	ID, ARN, Name, Email, Status, ParentID string
	JoinedMethod                           string
	Joined                                 time.Time
	roles                                  map[string]*iamRole
	global                                 map[string]any
	regions                                map[string]map[string]any
	// seedRegions are the regions of the account's own region blocks;
	// notOptedIn its not_opted_in_regions (see optInStatus).
	seedRegions []string
	notOptedIn  map[string]bool
}

// iamRole is a role as STS and IAM see it.
type iamRole struct {
	Name, ARN, ID, Path string
	TrustedPrincipals   []string
	TrustPolicy         string
	ExternalID          string
	MaxSessionDuration  int
	Description         string
	Created             time.Time
	ServiceLinked       bool
	// AttachedPolicies are managed policy ARNs in attach order;
	// InlinePolicies maps policy name to document. Stored, not evaluated.
	AttachedPolicies []string
	InlinePolicies   map[string]string

	// Eventual consistency (consistency.go): when the role was created
	// and its trust and permission policies last changed (zero for seeded
	// roles), and the trust policy in force before the latest change.
	created, trustWritten, permsWritten time.Time
	prevTrustedPrincipals               []string
	prevExternalID                      string
}

// accountData returns the account-wide state a global service keeps under key,
// creating it with mk on first use. Call it with the server lock held (every
// operation is).
func accountData[T any](a *account, key string, mk func() *T) *T {
	if v, ok := a.global[key]; ok {
		return v.(*T)
	}
	v := mk()
	a.global[key] = v
	return v
}

// regionData is accountData for regional services.
func regionData[T any](a *account, region, key string, mk func() *T) *T {
	m, ok := a.regions[region]
	if !ok {
		m = map[string]any{}
		a.regions[region] = m
	}
	if v, ok := m[key]; ok {
		return v.(*T)
	}
	v := mk()
	m[key] = v
	return v
}

// buildState turns the seed into the organization and its accounts. Service
// specific resources are added afterwards by each service's Init hook.
func (s *Server) buildState(seed *Seed) error {
	now := s.now()
	orgID := seed.OrganizationID
	if orgID == "" {
		orgID = "o-" + s.randomID(10, lowerAlnum)
	}
	mgmt := seed.ManagementAccountID
	o := &organization{
		ID:          orgID,
		ARN:         fmt.Sprintf("arn:aws:organizations::%s:organization/%s", mgmt, orgID),
		MasterID:    mgmt,
		RootID:      "r-" + s.randomID(4, lowerAlnum),
		RootName:    "Root",
		ous:         map[string]*orgUnit{},
		policies:    map[string]*orgPolicy{},
		attachments: map[string][]string{},
		policyTypes: map[string]string{},
		tags:        map[string]map[string]string{},
	}
	o.RootARN = fmt.Sprintf("arn:aws:organizations::%s:root/%s/%s", mgmt, orgID, o.RootID)
	for _, t := range seed.EnabledPolicyTypes {
		o.policyTypes[t] = "ENABLED"
	}
	if _, ok := o.policyTypes["SERVICE_CONTROL_POLICY"]; !ok && len(seed.EnabledPolicyTypes) == 0 {
		// A new organization with all features has SCPs enabled, which is
		// what orgguard expects to find.
		o.policyTypes["SERVICE_CONTROL_POLICY"] = "ENABLED"
	}
	full := &orgPolicy{
		ID: "p-FullAWSAccess", Name: "FullAWSAccess", Type: "SERVICE_CONTROL_POLICY", AWSManaged: true,
		Description: "Allows access to every operation",
		ARN:         "arn:aws:organizations::aws:policy/service_control_policy/p-FullAWSAccess",
		Content:     `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`,
	}
	o.policies[full.ID] = full
	o.policyOrder = append(o.policyOrder, full.ID)
	s.org = o

	var addAccounts func(parent string, accts []SeedAccount) error
	var addOUs func(parent string, ous []SeedOU) error
	addAccounts = func(parent string, accts []SeedAccount) error {
		for i, sa := range accts {
			a := &account{
				ID: sa.ID, Name: sa.Name, Email: sa.Email, Status: sa.Status, ParentID: parent,
				ARN:          fmt.Sprintf("arn:aws:organizations::%s:account/%s/%s", mgmt, orgID, sa.ID),
				JoinedMethod: "CREATED",
				// Spread join dates so listings look like a real org's history.
				Joined:  now.Add(-time.Duration(400+len(s.accountOrder)*7+i) * 24 * time.Hour).Truncate(time.Second),
				roles:   map[string]*iamRole{},
				global:  map[string]any{},
				regions: map[string]map[string]any{},
			}
			if a.Email == "" {
				a.Email = fmt.Sprintf("aws+%s@example.com", sa.ID)
			}
			for _, r := range sa.Regions {
				a.seedRegions = append(a.seedRegions, r.Name)
			}
			a.notOptedIn = map[string]bool{}
			for _, r := range sa.NotOptedInRegions {
				a.notOptedIn[r] = true
			}
			if a.Status == "" {
				a.Status = "ACTIVE"
			}
			if a.ID == mgmt {
				a.JoinedMethod = "INVITED"
				o.MasterEmail = a.Email
			}
			if len(sa.Tags) > 0 {
				o.tags[a.ID] = copyTags(sa.Tags)
			}
			var roles []SeedRole
			if seed.MemberRole != nil && !sa.NoMemberRole {
				roles = append(roles, *seed.MemberRole)
			}
			if a.ID != mgmt {
				// Organizations creates this role in every account it
				// creates; it trusts the management account.
				roles = append(roles, SeedRole{
					Name:              "OrganizationAccountAccessRole",
					TrustedPrincipals: []string{fmt.Sprintf("arn:aws:iam::%s:root", mgmt)},
				})
			}
			roles = append(roles, sa.Roles...)
			for _, r := range roles {
				a.roles[r.Name] = s.newRole(a.ID, r)
			}
			s.accounts[a.ID] = a
			s.accountOrder = append(s.accountOrder, a.ID)
		}
		return nil
	}
	addOUs = func(parent string, ous []SeedOU) error {
		for _, so := range ous {
			id := so.ID
			if id == "" {
				id = fmt.Sprintf("ou-%s-%s", o.RootID[2:], s.randomID(8, lowerAlnum))
			}
			if _, dup := o.ous[id]; dup {
				return fmt.Errorf("OU id %s declared twice", id)
			}
			u := &orgUnit{ID: id, Name: so.Name, ParentID: parent,
				ARN: fmt.Sprintf("arn:aws:organizations::%s:ou/%s/%s", mgmt, orgID, id)}
			o.ous[id] = u
			o.ouOrder = append(o.ouOrder, id)
			if len(so.Tags) > 0 {
				o.tags[id] = copyTags(so.Tags)
			}
			if err := addAccounts(id, so.Accounts); err != nil {
				return err
			}
			if err := addOUs(id, so.OUs); err != nil {
				return err
			}
		}
		return nil
	}
	if err := addAccounts(o.RootID, seed.Accounts); err != nil {
		return err
	}
	if err := addOUs(o.RootID, seed.OUs); err != nil {
		return err
	}
	if o.policyTypes["SERVICE_CONTROL_POLICY"] == "ENABLED" {
		// AWS attaches FullAWSAccess to the root, every OU and every account,
		// and requires each to keep at least one SCP.
		targets := []string{o.RootID}
		targets = append(targets, o.ouOrder...)
		targets = append(targets, s.accountOrder...)
		o.attachments[full.ID] = targets
	}
	for _, sp := range seed.Policies {
		p := s.newOrgPolicy(sp.ID, sp.Name, sp.Description, sp.Type, sp.Content)
		for _, t := range sp.Targets {
			if !s.orgTargetExists(t) {
				return fmt.Errorf("policy %s: unknown target %s", sp.Name, t)
			}
			o.attachments[p.ID] = append(o.attachments[p.ID], t)
		}
	}
	return nil
}

func (s *Server) newRole(accountID string, r SeedRole) *iamRole {
	max := r.MaxSessionDuration
	if max == 0 {
		max = 3600
	}
	return &iamRole{
		Name: r.Name, Path: "/",
		ARN:                fmt.Sprintf("arn:aws:iam::%s:role/%s", accountID, r.Name),
		ID:                 "AROA" + s.randomID(17, upperAlnum),
		TrustedPrincipals:  append([]string(nil), r.TrustedPrincipals...),
		ExternalID:         r.ExternalID,
		MaxSessionDuration: max,
		Created:            s.now().Add(-300 * 24 * time.Hour).Truncate(time.Second),
	}
}

func (s *Server) newOrgPolicy(id, name, desc, typ, content string) *orgPolicy {
	o := s.org
	if typ == "" {
		typ = "SERVICE_CONTROL_POLICY"
	}
	if id == "" {
		id = "p-" + s.randomID(8, lowerAlnum)
	}
	p := &orgPolicy{
		ID: id, Name: name, Description: desc, Type: typ, Content: content,
		ARN: fmt.Sprintf("arn:aws:organizations::%s:policy/%s/%s/%s", o.MasterID, o.ID, policyTypePath(typ), id),
	}
	o.policies[id] = p
	o.policyOrder = append(o.policyOrder, id)
	return p
}

func policyTypePath(t string) string {
	switch t {
	case "SERVICE_CONTROL_POLICY":
		return "service_control_policy"
	case "TAG_POLICY":
		return "tag_policy"
	case "BACKUP_POLICY":
		return "backup_policy"
	case "AISERVICES_OPT_OUT_POLICY":
		return "aiservices_opt_out_policy"
	case "RESOURCE_CONTROL_POLICY":
		return "resource_control_policy"
	}
	return "policy"
}

// orgTargetExists reports whether id names the root, an OU or an account.
func (s *Server) orgTargetExists(id string) bool {
	if id == s.org.RootID {
		return true
	}
	if _, ok := s.org.ous[id]; ok {
		return true
	}
	_, ok := s.accounts[id]
	return ok
}

func copyTags(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

const (
	lowerAlnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	upperAlnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	lowerHex   = "0123456789abcdef"
)

// randomID draws n characters from alphabet with the server's seeded source,
// so IDs are stable across runs with the same Options.RandSeed. Callers hold
// the lock, or run inside New before the server is shared.
func (s *Server) randomID(n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[s.rng.IntN(len(alphabet))]
	}
	return string(b)
}
