package awssim

import (
	"fmt"
	"slices"
	"time"
)

// CloudFormation (Query, signing name "cloudformation", regional): stacks
// from the seed (cloudformation_stack blocks of a region) and their drift.
//
// Operations: DescribeStacks, DetectStackDrift (the detection completes at
// once), DescribeStackDriftDetectionStatus, DescribeStackResourceDrifts.
// Templates and resources are not simulated: each stack has one synthetic
// resource whose drift matches the stack's.
func cloudFormationService() *service {
	return &service{
		Name:     "cloudformation",
		Protocol: protoQuery,
		XMLNS:    "http://cloudformation.amazonaws.com/doc/2010-05-15/",
		Init:     cfnInit,
		Ops: map[string]operation{
			"DescribeStacks":                    cfnDescribeStacks,
			"DetectStackDrift":                  cfnDetectStackDrift,
			"DescribeStackDriftDetectionStatus": cfnDescribeStackDriftDetectionStatus,
			"DescribeStackResourceDrifts":       cfnDescribeStackResourceDrifts,
		},
	}
}

type cfnState struct {
	stacks     []*cfnStack
	detections map[string]*cfnDetection
}

type cfnStack struct {
	ID, Name, Status string
	Created          time.Time
	// Drifted is the stack's real state, which a detection finds.
	Drifted bool
	// DriftStatus and LastCheck are the result of the last detection.
	DriftStatus string
	LastCheck   *time.Time
}

type cfnDetection struct {
	ID, StackID, DriftStatus string
	Drifted                  int
	Time                     time.Time
}

func cfnStateOf(a *account, region string) *cfnState {
	return regionData(a, region, "cloudformation", func() *cfnState { return &cfnState{detections: map[string]*cfnDetection{}} })
}

func cfnUUID(s *Server) string {
	h := s.randomID(32, lowerHex)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func cfnInit(s *Server, seed *Seed) error {
	now := s.now().UTC().Truncate(time.Second)
	walkSeedAccounts(seed, func(sa *SeedAccount) {
		for _, sr := range sa.Regions {
			for _, ss := range sr.CloudFormationStacks {
				st := &cfnStack{
					ID:   fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s", sr.Name, sa.ID, ss.Name, cfnUUID(s)),
					Name: ss.Name, Status: "CREATE_COMPLETE", Created: now.Add(-400 * 24 * time.Hour),
					Drifted: ss.DriftStatus == "DRIFTED", DriftStatus: ss.DriftStatus,
				}
				if st.DriftStatus == "" {
					st.DriftStatus = "NOT_CHECKED"
				}
				if st.DriftStatus != "NOT_CHECKED" {
					t := now.Add(-time.Duration(ss.DriftCheckedDaysAgo) * 24 * time.Hour)
					st.LastCheck = &t
				}
				cs := cfnStateOf(s.accounts[sa.ID], sr.Name)
				cs.stacks = append(cs.stacks, st)
			}
		}
	})
	return nil
}

func cfnValidation(format string, args ...any) *apiError {
	return errBadRequest("ValidationError", format, args...)
}

// stack finds a stack by name or stack ID.
func (cs *cfnState) stack(nameOrID string) (*cfnStack, error) {
	if nameOrID == "" {
		return nil, cfnValidation("1 validation error detected: Value null at 'stackName' failed to satisfy constraint: Member must not be null")
	}
	for _, st := range cs.stacks {
		if st.Name == nameOrID || st.ID == nameOrID {
			return st, nil
		}
	}
	return nil, cfnValidation("Stack with id %s does not exist", nameOrID)
}

type cfnDriftInfoOut struct {
	StackDriftStatus   string
	LastCheckTimestamp string `xml:",omitempty"`
}

type cfnStackOut struct {
	StackID                     string `xml:"StackId"`
	StackName                   string
	CreationTime                string
	StackStatus                 string
	DisableRollback             bool
	EnableTerminationProtection bool
	DriftInformation            cfnDriftInfoOut
}

func cfnDescribeStacks(r *request) (any, error) {
	cs := cfnStateOf(r.Account, r.Region)
	list := cs.stacks
	if name := r.param("StackName"); name != "" {
		st, err := cs.stack(name)
		if err != nil {
			return nil, err
		}
		list = []*cfnStack{st}
	}
	limit, err := r.pageLimit(0, 100, 100)
	if err != nil {
		return nil, err
	}
	page, next, err := paginate(list, r.param("NextToken"), limit, cfnValidation("Invalid NextToken"))
	if err != nil {
		return nil, err
	}
	out := []cfnStackOut{}
	for _, st := range page {
		o := cfnStackOut{StackID: st.ID, StackName: st.Name, CreationTime: iamTime(st.Created), StackStatus: st.Status,
			DriftInformation: cfnDriftInfoOut{StackDriftStatus: st.DriftStatus}}
		if st.LastCheck != nil {
			o.DriftInformation.LastCheckTimestamp = iamTime(*st.LastCheck)
		}
		out = append(out, o)
	}
	return &struct {
		Stacks    []cfnStackOut `xml:"Stacks>member"`
		NextToken string        `xml:",omitempty"`
	}{out, next}, nil
}

func cfnDetectStackDrift(r *request) (any, error) {
	cs := cfnStateOf(r.Account, r.Region)
	st, err := cs.stack(r.param("StackName"))
	if err != nil {
		return nil, err
	}
	now := r.srv.now().UTC()
	d := &cfnDetection{ID: cfnUUID(r.srv), StackID: st.ID, DriftStatus: "IN_SYNC", Time: now}
	if st.Drifted {
		d.DriftStatus, d.Drifted = "DRIFTED", 1
	}
	cs.detections[d.ID] = d
	st.DriftStatus, st.LastCheck = d.DriftStatus, &now
	return &struct{ StackDriftDetectionId string }{d.ID}, nil
}

func cfnDescribeStackDriftDetectionStatus(r *request) (any, error) {
	id := r.param("StackDriftDetectionId")
	if id == "" {
		return nil, cfnValidation("1 validation error detected: Value null at 'stackDriftDetectionId' failed to satisfy constraint: Member must not be null")
	}
	d := cfnStateOf(r.Account, r.Region).detections[id]
	if d == nil {
		return nil, cfnValidation("Drift detection with id %s does not exist", id)
	}
	return &struct {
		StackID                   string `xml:"StackId"`
		StackDriftDetectionId     string
		StackDriftStatus          string
		DetectionStatus           string
		DriftedStackResourceCount int
		Timestamp                 string
	}{d.StackID, d.ID, d.DriftStatus, "DETECTION_COMPLETE", d.Drifted, iamTime(d.Time)}, nil
}

type cfnPropertyDifferenceOut struct {
	PropertyPath, ExpectedValue, ActualValue, DifferenceType string
}

type cfnResourceDriftOut struct {
	StackID                  string `xml:"StackId"`
	LogicalResourceId        string
	PhysicalResourceId       string
	ResourceType             string
	ExpectedProperties       string
	ActualProperties         string
	PropertyDifferences      []cfnPropertyDifferenceOut `xml:"PropertyDifferences>member"`
	StackResourceDriftStatus string
	Timestamp                string
}

var cfnResourceDriftStatuses = []string{"IN_SYNC", "MODIFIED", "DELETED", "NOT_CHECKED", "UNKNOWN", "UNSUPPORTED"}

func cfnDescribeStackResourceDrifts(r *request) (any, error) {
	st, err := cfnStateOf(r.Account, r.Region).stack(r.param("StackName"))
	if err != nil {
		return nil, err
	}
	filters := listValues(r.Form, "StackResourceDriftStatusFilters.member")
	for _, f := range filters {
		if !slices.Contains(cfnResourceDriftStatuses, f) {
			return nil, cfnValidation("1 validation error detected: Value '[%s]' at 'stackResourceDriftStatusFilters' failed to satisfy constraint: Member must satisfy enum value set: %v", f, cfnResourceDriftStatuses)
		}
	}
	max, err := r.paramInt("MaxResults")
	if err != nil {
		return nil, err
	}
	limit, err := r.pageLimit(max, 100, 100)
	if err != nil {
		return nil, cfnValidation("1 validation error detected: Value '%d' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and 100", max)
	}
	var list []cfnResourceDriftOut
	// Results exist once a detection ran (seeded or started).
	if st.LastCheck != nil {
		d := cfnResourceDriftOut{StackID: st.ID, LogicalResourceId: "Parameter", PhysicalResourceId: st.Name + "-Parameter",
			ResourceType: "AWS::SSM::Parameter", ExpectedProperties: `{"Type":"String","Value":"expected"}`,
			ActualProperties: `{"Type":"String","Value":"expected"}`, StackResourceDriftStatus: "IN_SYNC", Timestamp: iamTime(*st.LastCheck)}
		if st.DriftStatus == "DRIFTED" {
			d.ActualProperties, d.StackResourceDriftStatus = `{"Type":"String","Value":"changed"}`, "MODIFIED"
			d.PropertyDifferences = []cfnPropertyDifferenceOut{{"/Value", "expected", "changed", "NOT_EQUAL"}}
		}
		if len(filters) == 0 || slices.Contains(filters, d.StackResourceDriftStatus) {
			list = append(list, d)
		}
	}
	page, next, err := paginate(list, r.param("NextToken"), limit, cfnValidation("Invalid NextToken"))
	if err != nil {
		return nil, err
	}
	return &struct {
		StackResourceDrifts []cfnResourceDriftOut `xml:"StackResourceDrifts>member"`
		NextToken           string                `xml:",omitempty"`
	}{append([]cfnResourceDriftOut{}, page...), next}, nil
}
