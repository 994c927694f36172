package awssim

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
)

func TestKMSKeysAndRotation(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{PageSize: 1})
	c := kms.NewFromConfig(memberConfig(s, demoWebProd, "eu-west-1"))
	k1 := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{Description: aws.String("data")})).KeyMetadata
	k2 := must[*kms.CreateKeyOutput](t)(c.CreateKey(ctx, &kms.CreateKeyInput{KeySpec: kmstypes.KeySpecRsa2048, KeyUsage: kmstypes.KeyUsageTypeSignVerify})).KeyMetadata
	if aws.ToString(k1.Arn) != "arn:aws:kms:eu-west-1:100000000007:key/"+aws.ToString(k1.KeyId) || k1.KeyState != kmstypes.KeyStateEnabled || !k1.Enabled {
		t.Errorf("key = %+v", k1)
	}
	var ids []string
	p := kms.NewListKeysPaginator(c, &kms.ListKeysInput{})
	for p.HasMorePages() {
		for _, k := range must[*kms.ListKeysOutput](t)(p.NextPage(ctx)).Keys {
			ids = append(ids, aws.ToString(k.KeyId))
		}
	}
	if len(ids) != 2 || ids[0] != aws.ToString(k1.KeyId) {
		t.Errorf("keys = %v", ids)
	}
	d := must[*kms.DescribeKeyOutput](t)(c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: k1.Arn}))
	if aws.ToString(d.KeyMetadata.Description) != "data" || d.KeyMetadata.KeyManager != kmstypes.KeyManagerTypeCustomer {
		t.Errorf("DescribeKey = %+v", d.KeyMetadata)
	}
	_, err := c.DescribeKey(ctx, &kms.DescribeKeyInput{KeyId: aws.String("00000000-0000-0000-0000-000000000000")})
	requireCode(t, err, "NotFoundException")

	rs := must[*kms.GetKeyRotationStatusOutput](t)(c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k1.KeyId}))
	if rs.KeyRotationEnabled {
		t.Error("rotation on for a new key")
	}
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k1.KeyId, RotationPeriodInDays: aws.Int32(30)})
	requireCode(t, err, "ValidationException")
	_, err = c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k2.KeyId})
	requireCode(t, err, "UnsupportedOperationException")
	must[*kms.EnableKeyRotationOutput](t)(c.EnableKeyRotation(ctx, &kms.EnableKeyRotationInput{KeyId: k1.KeyId}))
	rs = must[*kms.GetKeyRotationStatusOutput](t)(c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: k1.KeyId}))
	if !rs.KeyRotationEnabled || aws.ToInt32(rs.RotationPeriodInDays) != 365 || rs.NextRotationDate == nil {
		t.Errorf("rotation status = %+v", rs)
	}
}

func TestKMSSeededKeys(t *testing.T) {
	t.Parallel()
	s := newTestServer(t, Options{})
	c := kms.NewFromConfig(memberConfig(s, "100000000006", "us-east-1"))
	keys := must[*kms.ListKeysOutput](t)(c.ListKeys(ctx, &kms.ListKeysInput{}))
	if len(keys.Keys) != 2 {
		t.Fatalf("seeded keys = %+v", keys.Keys)
	}
	for id, want := range map[string]bool{"1a2b3c4d-0006-4000-8000-000000000061": false, "1a2b3c4d-0006-4000-8000-000000000062": true} {
		rs := must[*kms.GetKeyRotationStatusOutput](t)(c.GetKeyRotationStatus(ctx, &kms.GetKeyRotationStatusInput{KeyId: aws.String(id)}))
		if rs.KeyRotationEnabled != want {
			t.Errorf("%s rotation = %v, want %v", id, rs.KeyRotationEnabled, want)
		}
	}
}
