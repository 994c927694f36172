package awssim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

func TestProbeRawClient(t *testing.T) {
	s := newTestServer(t, Options{Seed: GenerateSeed(GenerateOptions{Accounts: 1000})})
	ak, sk := s.ManagementCredentials()
	signer := v4.NewSigner()
	client := &http.Client{Transport: &http.Transport{}}
	token := ""
	for page := 0; ; page++ {
		body := []byte(`{}`)
		if token != "" {
			body, _ = json.Marshal(map[string]string{"NextToken": token})
		}
		req, _ := http.NewRequest("POST", s.URL()+"/", bytes.NewReader(body))
		req.Header.Set("X-Amz-Target", "AWSOrganizationsV20161128.ListAccounts")
		req.Header.Set("Content-Type", "application/x-amz-json-1.1")
		sum := sha256.Sum256(body)
		if err := signer.SignHTTP(ctx, aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req, hex.EncodeToString(sum[:]), "organizations", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatalf("page %d: %v", page, err)
		}
		var out struct{ NextToken string }
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("page %d: %v %s", page, err, b)
		}
		if out.NextToken == "" {
			return
		}
		token = out.NextToken
	}
}
