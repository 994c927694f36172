package awssim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// SNS (Query protocol, regional): topics, subscriptions and Publish, which
// records the message for tests (Server.SNSMessages).
func snsService() *service {
	return &service{
		Name:     "sns",
		Protocol: protoQuery,
		XMLNS:    "http://sns.amazonaws.com/doc/2010-03-31/",
		Codes:    errorCodes{Validation: "InvalidParameter"},
		Ops: map[string]operation{
			"CreateTopic":        snsCreateTopic,
			"ListTopics":         snsListTopics,
			"GetTopicAttributes": snsGetTopicAttributes,
			"Subscribe":          snsSubscribe,
			"Publish":            snsPublish,
		},
	}
}

type snsState struct {
	topics []*snsTopic
}

type snsTopic struct {
	ARN, Name string
	Attrs     map[string]string
	Subs      []snsSubscription
	Messages  []SNSMessage
}

type snsSubscription struct {
	ARN, Protocol, Endpoint string
	Confirmed               bool
}

// SNSMessage is a message published to a simulated topic.
type SNSMessage struct {
	TopicARN, MessageID, Subject, Message string
	// Attributes are the message attributes' string values by name.
	Attributes map[string]string
}

// SNSMessages returns the messages published to topicARN, oldest first.
func (s *Server) SNSMessages(topicARN string) []SNSMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := strings.Split(topicARN, ":")
	if len(parts) != 6 || s.accounts[parts[4]] == nil {
		return nil
	}
	if t := snsStateOf(s.accounts[parts[4]], parts[3]).topic(topicARN); t != nil {
		return append([]SNSMessage(nil), t.Messages...)
	}
	return nil
}

func snsStateOf(a *account, region string) *snsState {
	return regionData(a, region, "sns", func() *snsState { return &snsState{} })
}

func (st *snsState) topic(arn string) *snsTopic {
	for _, t := range st.topics {
		if t.ARN == arn {
			return t
		}
	}
	return nil
}

var snsTopicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}(\.fifo)?$`)

func snsNotFound() error { return errNotFound("NotFound", "Topic does not exist") }

func snsCreateTopic(req *request) (any, error) {
	name := req.param("Name")
	if !snsTopicNameRE.MatchString(name) {
		return nil, errBadRequest("InvalidParameter", "Invalid parameter: Topic Name")
	}
	attrs := map[string]string{}
	for _, e := range listStructs(req.Form, "Attributes.entry") {
		attrs[e.Get("key")] = e.Get("value")
	}
	st := snsStateOf(req.Account, req.Region)
	arn := fmt.Sprintf("arn:aws:sns:%s:%s:%s", req.Region, req.Account.ID, name)
	if t := st.topic(arn); t != nil {
		// CreateTopic is idempotent unless the attributes differ.
		for k, v := range attrs {
			if t.Attrs[k] != v {
				return nil, errBadRequest("InvalidParameter", "Invalid parameter: Attributes Reason: Topic already exists with different attributes")
			}
		}
		return &struct{ TopicArn string }{arn}, nil
	}
	if v := attrs["KmsMasterKeyId"]; v != "" && !strings.HasPrefix(v, "alias/aws/") {
		if k, settled := kmsSeen(req.srv, req.Account, req.Region, v); k == nil || !settled {
			return nil, errBadRequest("InvalidParameter", "Invalid parameter: KmsMasterKeyId")
		}
	}
	st.topics = append(st.topics, &snsTopic{ARN: arn, Name: name, Attrs: attrs})
	return &struct{ TopicArn string }{arn}, nil
}

func snsListTopics(req *request) (any, error) {
	limit, _ := req.pageLimit(0, 100, 0)
	page, next, err := paginate(snsStateOf(req.Account, req.Region).topics, req.param("NextToken"), limit,
		errBadRequest("InvalidParameter", "Invalid parameter: NextToken"))
	if err != nil {
		return nil, err
	}
	type entry struct{ TopicArn string }
	out := struct {
		Topics    []entry `xml:"Topics>member"`
		NextToken string  `xml:",omitempty"`
	}{Topics: []entry{}, NextToken: next}
	for _, t := range page {
		out.Topics = append(out.Topics, entry{t.ARN})
	}
	return &out, nil
}

func snsTopicArg(req *request) (*snsTopic, error) {
	arn := req.param("TopicArn")
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[2] != "sns" {
		return nil, errBadRequest("InvalidParameter", "Invalid parameter: TopicArn")
	}
	a := req.srv.accounts[parts[4]]
	if a == nil || parts[3] != req.Region {
		return nil, snsNotFound()
	}
	t := snsStateOf(a, parts[3]).topic(arn)
	if t == nil {
		return nil, snsNotFound()
	}
	if a != req.Account && !strings.Contains(t.Attrs["Policy"], `"*"`) && !strings.Contains(t.Attrs["Policy"], req.Account.ID) {
		return nil, errForbidden("AuthorizationError", "User: %s is not authorized to perform: SNS on resource: %s", req.Caller.ARN, arn)
	}
	return t, nil
}

func snsGetTopicAttributes(req *request) (any, error) {
	t, err := snsTopicArg(req)
	if err != nil {
		return nil, err
	}
	owner := strings.Split(t.ARN, ":")[4]
	attrs := map[string]string{
		"TopicArn": t.ARN, "Owner": owner, "DisplayName": "", "SubscriptionsDeleted": "0",
		"EffectiveDeliveryPolicy": `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}`,
	}
	if _, ok := t.Attrs["Policy"]; !ok {
		pol, _ := json.Marshal(map[string]any{"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": []any{map[string]any{
			"Sid": "__default_statement_ID", "Effect": "Allow", "Principal": map[string]string{"AWS": "*"},
			"Action":   []string{"SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission", "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic", "SNS:Publish"},
			"Resource": t.ARN, "Condition": map[string]any{"StringEquals": map[string]string{"AWS:SourceOwner": owner}}}}})
		attrs["Policy"] = string(pol)
	}
	for k, v := range t.Attrs {
		attrs[k] = v
	}
	confirmed, pending := 0, 0
	for _, s := range t.Subs {
		if s.Confirmed {
			confirmed++
		} else {
			pending++
		}
	}
	attrs["SubscriptionsConfirmed"], attrs["SubscriptionsPending"] = fmt.Sprint(confirmed), fmt.Sprint(pending)
	type entry struct {
		Key   string `xml:"key"`
		Value string `xml:"value"`
	}
	out := struct {
		Entries []entry `xml:"Attributes>entry"`
	}{}
	for _, k := range sortedKeys(attrs) {
		out.Entries = append(out.Entries, entry{k, attrs[k]})
	}
	return &out, nil
}

func snsSubscribe(req *request) (any, error) {
	t, err := snsTopicArg(req)
	if err != nil {
		return nil, err
	}
	proto, endpoint := req.param("Protocol"), req.param("Endpoint")
	switch proto {
	case "email", "email-json", "http", "https", "sqs", "lambda", "sms", "application", "firehose":
	default:
		return nil, errBadRequest("InvalidParameter", "Invalid parameter: Amazon SNS does not support this protocol string: %s", proto)
	}
	if endpoint == "" {
		return nil, errBadRequest("InvalidParameter", "Invalid parameter: Endpoint")
	}
	for _, s := range t.Subs {
		if s.Protocol == proto && s.Endpoint == endpoint {
			return snsSubOut(req, s), nil
		}
	}
	h := req.srv.randomID(32, lowerHex)
	s := snsSubscription{ARN: t.ARN + ":" + h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:], Protocol: proto, Endpoint: endpoint,
		// Email and HTTP endpoints must confirm; AWS services are confirmed at once.
		Confirmed: proto == "sqs" || proto == "lambda" || proto == "firehose" || proto == "application"}
	t.Subs = append(t.Subs, s)
	return snsSubOut(req, s), nil
}

func snsSubOut(req *request, s snsSubscription) any {
	arn := s.ARN
	if !s.Confirmed && req.param("ReturnSubscriptionArn") != "true" {
		arn = "pending confirmation"
	}
	return &struct{ SubscriptionArn string }{arn}
}

func snsPublish(req *request) (any, error) {
	if req.param("TopicArn") == "" {
		return nil, errBadRequest("InvalidParameter", "Invalid parameter: TopicArn or TargetArn Reason: no value for required parameter")
	}
	t, err := snsTopicArg(req)
	if err != nil {
		return nil, err
	}
	msg := req.param("Message")
	if msg == "" {
		return nil, errBadRequest("InvalidParameter", "Invalid parameter: Message too short")
	}
	if len(msg) > 256*1024 {
		return nil, errBadRequest("InvalidParameter", "Invalid parameter: Message too long")
	}
	// A subject is ASCII text under 100 characters without line breaks
	// or control characters, as SNS checks it.
	subject := req.param("Subject")
	if len(subject) >= 100 || strings.IndexFunc(subject, func(r rune) bool { return r < 0x20 || r > 0x7e }) >= 0 {
		return nil, errBadRequest("InvalidParameter", "Invalid parameter: Subject")
	}
	attrs := map[string]string{}
	entries := listStructs(req.Form, "MessageAttributes.entry")
	if len(entries) > 10 {
		return nil, errBadRequest("InvalidParameterValue", "Number of message attributes [%d] exceeds the allowed maximum [10].", len(entries))
	}
	for _, e := range entries {
		name, typ, val := e.Get("Name"), e.Get("Value.DataType"), e.Get("Value.StringValue")
		switch {
		case name == "":
			return nil, errBadRequest("InvalidParameterValue", "The message attribute name must not be empty.")
		case typ != "String" && typ != "Number" && !strings.HasPrefix(typ, "String.") && !strings.HasPrefix(typ, "Number."):
			return nil, errBadRequest("InvalidParameterValue", "The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", name)
		case val == "":
			return nil, errBadRequest("InvalidParameterValue", "The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", name, typ)
		}
		attrs[name] = val
	}
	h := req.srv.randomID(32, lowerHex)
	id := h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
	t.Messages = append(t.Messages, SNSMessage{TopicARN: t.ARN, MessageID: id, Subject: subject, Message: msg, Attributes: attrs})
	return &struct{ MessageId string }{id}, nil
}
