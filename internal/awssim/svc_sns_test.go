package awssim

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
)

func TestSNSTopics(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 2})
	c := sns.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))
	var arns []string
	for _, n := range []string{"orgguard-alarms", "guardduty-findings", "approvals"} {
		out := must[*sns.CreateTopicOutput](t)(c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(n), Tags: nil}))
		arns = append(arns, aws.ToString(out.TopicArn))
	}
	if arns[0] != "arn:aws:sns:us-east-1:100000000007:orgguard-alarms" {
		t.Errorf("arn = %s", arns[0])
	}
	again := must[*sns.CreateTopicOutput](t)(c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orgguard-alarms")}))
	if aws.ToString(again.TopicArn) != arns[0] {
		t.Errorf("CreateTopic not idempotent: %s", aws.ToString(again.TopicArn))
	}
	_, err := c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("bad name")})
	requireCode(t, err, "InvalidParameter")

	var listed []string
	p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
	for p.HasMorePages() {
		for _, tp := range must[*sns.ListTopicsOutput](t)(p.NextPage(ctx)).Topics {
			listed = append(listed, aws.ToString(tp.TopicArn))
		}
	}
	if strings.Join(listed, ",") != strings.Join(arns, ",") {
		t.Errorf("topics = %v", listed)
	}

	sub := must[*sns.SubscribeOutput](t)(c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arns[0]), Protocol: aws.String("email"), Endpoint: aws.String("ccoe@example.com")}))
	if aws.ToString(sub.SubscriptionArn) != "pending confirmation" {
		t.Errorf("email subscription = %s", aws.ToString(sub.SubscriptionArn))
	}
	sub = must[*sns.SubscribeOutput](t)(c.Subscribe(ctx, &sns.SubscribeInput{TopicArn: aws.String(arns[0]), Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:100000000007:q")}))
	if !strings.HasPrefix(aws.ToString(sub.SubscriptionArn), arns[0]+":") {
		t.Errorf("sqs subscription = %s", aws.ToString(sub.SubscriptionArn))
	}
	attrs := must[*sns.GetTopicAttributesOutput](t)(c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String(arns[0])}))
	if attrs.Attributes["TopicArn"] != arns[0] || attrs.Attributes["SubscriptionsPending"] != "1" || attrs.Attributes["SubscriptionsConfirmed"] != "1" ||
		attrs.Attributes["Owner"] != demoWebProd || !strings.Contains(attrs.Attributes["Policy"], "SNS:Publish") {
		t.Errorf("attributes = %v", attrs.Attributes)
	}
	_, err = c.GetTopicAttributes(ctx, &sns.GetTopicAttributesInput{TopicArn: aws.String("arn:aws:sns:us-east-1:100000000007:nope")})
	requireCode(t, err, "NotFound")

	pub := must[*sns.PublishOutput](t)(c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arns[0]), Subject: aws.String("drift"), Message: aws.String("default SG open")}))
	msgs := s.SNSMessages(arns[0])
	if len(msgs) != 1 || msgs[0].MessageID != aws.ToString(pub.MessageId) || msgs[0].Message != "default SG open" || msgs[0].Subject != "drift" {
		t.Errorf("messages = %+v", msgs)
	}
	_, err = c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(arns[0]), Message: aws.String("")})
	requireCode(t, err, "InvalidParameter")
}

// Publish keeps message attributes (what subscription filter policies
// match) and refuses what SNS refuses: a subject of 100 characters or with
// a line break, an attribute without a value or with an unknown type.
func TestSNSPublishAttributesAndSubject(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := sns.NewFromConfig(memberConfig(s, demoWebProd, "us-east-1"))
	topic := aws.ToString(must[*sns.CreateTopicOutput](t)(c.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("orgguard-events")})).TopicArn)
	str := func(v string) snstypes.MessageAttributeValue {
		return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	_ = must[*sns.PublishOutput](t)(c.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Subject: aws.String("orgguard: remediated"),
		Message: aws.String("{}"), MessageAttributes: map[string]snstypes.MessageAttributeValue{"event_type": str("remediated"), "account_id": str("111111111111")}}))
	msgs := s.SNSMessages(topic)
	if len(msgs) != 1 || msgs[0].Attributes["event_type"] != "remediated" || msgs[0].Attributes["account_id"] != "111111111111" {
		t.Fatalf("messages = %+v", msgs)
	}
	for name, in := range map[string]*sns.PublishInput{
		"long subject":      {Subject: aws.String(strings.Repeat("x", 100))},
		"subject with \\n":  {Subject: aws.String("a\nb")},
		"empty attribute":   {MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": str("")}},
		"unknown attribute": {MessageAttributes: map[string]snstypes.MessageAttributeValue{"a": {DataType: aws.String("Text"), StringValue: aws.String("x")}}},
	} {
		in.TopicArn, in.Message = aws.String(topic), aws.String("{}")
		_, err := c.Publish(ctx, in)
		if err == nil {
			t.Errorf("%s: published", name)
		}
	}
	if n := len(s.SNSMessages(topic)); n != 1 {
		t.Errorf("%d messages, want 1", n)
	}
}
