// Package awssim simulates an AWS Organization behind one local HTTP
// endpoint, for orgguard's demo and integration tests.
//
// A Server speaks the real AWS wire protocols (JSON 1.0/1.1 routed by
// X-Amz-Target, Query and EC2 Query by Action and the SigV4 credential scope,
// REST-JSON and REST-XML by method and path, RPC v2 CBOR by path), verifies
// SigV4 signatures, maps credentials issued by its own STS to the assumed
// account and role, keeps state per account and region, refuses calls in
// opt-in regions an account has not enabled, injects faults (latency,
// throttling with AWS's error codes, 5xx, access denied, lost responses),
// can make IAM, KMS and Config eventually consistent (ConsistencyDelay), and
// logs every call so tests can assert what ran, where, as whom and how often.
//
// Start one per test:
//
//	srv, err := awssim.New(awssim.Options{PageSize: 2})
//	...
//	defer srv.Close()
//	ak, sk := srv.ManagementCredentials()
//	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL()),
//		Credentials: credentials.NewStaticCredentialsProvider(ak, sk, "")}
//
// The organization comes from a Seed (DemoSeed, LoadSeedFile, GenerateSeed);
// docs/awssim.md documents the seed format and the simulated operations, and
// FRAMEWORK.md explains how to add a service.
package awssim
