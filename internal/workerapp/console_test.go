package workerapp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/orgguard/orgguard/internal/devidp"
	"github.com/orgguard/orgguard/internal/identity"
)

func devTrust(t *testing.T) *identity.Provider {
	t.Helper()
	idp, err := devidp.Start(devidp.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = idp.Close() })
	cfg, err := idp.WriteTrustConfig(filepath.Join(t.TempDir(), "trust.hcl"))
	require.NoError(t, err)
	return identity.NewProvider(cfg, nil, nil)
}

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "orgguard console test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	kder, err := x509.MarshalECPrivateKey(key)
	require.NoError(t, err)
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	require.NoError(t, os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600))
	return certFile, keyFile
}

// Over TLS the console is https, says so (HSTS), and its login cookie is
// Secure with the __Host- prefix.
func TestConsoleOverTLS(t *testing.T) {
	t.Parallel()
	cert, key := selfSigned(t)
	web, err := StartConsole(nil, devTrust(t), ConsoleOptions{Addr: "127.0.0.1:0", TLSCert: cert, TLSKey: key})
	require.NoError(t, err)
	t.Cleanup(func() { _ = web.Close() })
	require.True(t, strings.HasPrefix(web.URL, "https://127.0.0.1:"), web.URL)
	c := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, //nolint:gosec // a test's self-signed certificate
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := c.Get(web.URL + "/login")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "max-age=31536000", resp.Header.Get("Strict-Transport-Security"))
	resp, err = c.Get(web.URL + "/login/orgguard-dev")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	cookies := resp.Cookies()
	require.Len(t, cookies, 1)
	require.Equal(t, "__Host-orgguard_console_login", cookies[0].Name)
	require.True(t, cookies[0].Secure)
	require.True(t, cookies[0].HttpOnly)
	require.Contains(t, resp.Header.Get("Location"), "redirect_uri="+url.QueryEscape(web.URL+"/auth/callback"))
}

// Plain http is for loopback only: elsewhere the session cookie would
// cross the network in clear text.
func TestConsoleRefusesPlainHTTPOffLoopback(t *testing.T) {
	t.Parallel()
	_, err := StartConsole(nil, devTrust(t), ConsoleOptions{Addr: "0.0.0.0:0"})
	require.ErrorContains(t, err, "plain http on a non-loopback host")
	web, err := StartConsole(nil, devTrust(t), ConsoleOptions{Addr: "127.0.0.1:0", PublicURL: "https://orgguard.example.com"})
	require.NoError(t, err, "behind a TLS-terminating proxy")
	require.Equal(t, "https://orgguard.example.com", web.URL)
	require.NoError(t, web.Close())
}
