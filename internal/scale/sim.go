package scale

import (
	"context"
	"net"
	"net/http"
	"net/url"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/orgguard/orgguard/internal/awssim"
)

// newSim starts a simulator serving seed with the run's faults, its calls
// going to log (the server's own log stays small).
func newSim(seed *awssim.Seed, faults []awssim.Fault, randSeed uint64, log *callLog) (*awssim.Server, error) {
	opts := awssim.Options{Seed: seed, Faults: faults, RandSeed: randSeed, IgnoreEnvironment: true, CallLogLimit: 1000}
	if log != nil {
		opts.OnCall = log.add
	}
	return awssim.New(opts)
}

// simEnv is the environment an orgguard-worker process gets: the AWS SDK's
// standard variables pointing at the simulator, as in production.
func simEnv(sim *awssim.Server, none string) []string {
	key, secret := sim.ManagementCredentials()
	return []string{
		"AWS_ENDPOINT_URL=" + sim.URL(), "AWS_ACCESS_KEY_ID=" + key, "AWS_SECRET_ACCESS_KEY=" + secret,
		"AWS_REGION=us-east-1", "AWS_CONFIG_FILE=" + none, "AWS_SHARED_CREDENTIALS_FILE=" + none,
		// S3 Control addresses <account>.<endpoint host>; the simulator
		// proxies those names (docs/awssim.md).
		"HTTP_PROXY=" + sim.URL(),
	}
}

// rootConfig is, in this process, the AWS configuration simEnv gives a
// worker: the simulator's endpoint, the management credentials, the SDK's
// default HTTP client with the simulator as proxy for non-loopback hosts
// (HTTP_PROXY); tag adds each request's chain to its User-Agent.
func rootConfig(ctx context.Context, sim *awssim.Server, tag bool) (aws.Config, error) {
	proxy, err := url.Parse(sim.URL())
	if err != nil {
		return aws.Config{}, err
	}
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.Proxy = func(r *http.Request) (*url.URL, error) {
			host := r.URL.Hostname()
			if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
				return nil, nil
			}
			return proxy, nil
		}
	})
	key, secret := sim.ManagementCredentials()
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRegion("us-east-1"),
		config.WithBaseEndpoint(sim.URL()),
		config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(key, secret, "")),
		config.WithHTTPClient(hc),
		config.WithSharedConfigFiles([]string{}),
		config.WithSharedCredentialsFiles([]string{}),
	)
	if tag {
		cfg.HTTPClient = taggingClient{hc}
	}
	return cfg, err
}
