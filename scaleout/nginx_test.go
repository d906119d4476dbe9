package scaleout_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/passkeyd/passkeyd/passkeytest"
)

// nginxConf is the configuration under test.
const nginxConf = "../deploy/nginx.conf"

// findNginx returns nginx's path; no nginx skips the test (fails it in CI).
func findNginx(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/usr/sbin/nginx"); err == nil {
		return "/usr/sbin/nginx"
	}
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	unavailable(t, "no nginx (/usr/sbin/nginx or on PATH); install Debian's nginx package to run the test through it")
	return ""
}

// selfSigned writes a certificate and key for localhost into dir and
// returns their paths and a pool that trusts the certificate.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// renderNginxConf returns deploy/nginx.conf with the test's addresses,
// server name and certificate in place of the example ones. Each
// replacement must match as often as expected, so that the file and this
// test cannot drift apart unnoticed.
func renderNginxConf(t *testing.T, upstreams [2]string, httpsPort, httpPort int, certFile, keyFile string) string {
	t.Helper()
	data, err := os.ReadFile(nginxConf)
	if err != nil {
		t.Fatal(err)
	}
	conf := string(data)
	for _, r := range []struct {
		old, new string
		n        int
	}{
		{"server 127.0.0.1:8001 ", "server " + upstreams[0] + " ", 1},
		{"server 127.0.0.1:8002 ", "server " + upstreams[1] + " ", 1},
		{"listen 443 ssl http2;", fmt.Sprintf("listen 127.0.0.1:%d ssl http2;", httpsPort), 1},
		{"listen [::]:443 ssl http2;", "", 1},
		{"listen 80;", fmt.Sprintf("listen 127.0.0.1:%d;", httpPort), 1},
		{"listen [::]:80;", "", 1},
		{"server_name login.example.com;", "server_name localhost;", 2},
		{"/etc/ssl/certs/login.example.com.pem", certFile, 1},
		{"/etc/ssl/private/login.example.com.key", keyFile, 1},
	} {
		if n := strings.Count(conf, r.old); n != r.n {
			t.Fatalf("%s has %q %d times, the test expects %d", nginxConf, r.old, n, r.n)
		}
		conf = strings.ReplaceAll(conf, r.old, r.new)
	}
	return conf
}

// startNginx runs nginx in the foreground with deploy/nginx.conf included
// in a minimal main configuration whose files all live in dir.
func startNginx(t *testing.T, nginx, dir, siteConf string) *process {
	t.Helper()
	// nginx's workers run as nobody when the master is root; they need to
	// reach their temporary directories (which nginx makes) under dir.
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	site := filepath.Join(dir, "passkeyd.conf")
	if err := os.WriteFile(site, []byte(siteConf), 0o644); err != nil {
		t.Fatal(err)
	}
	main := fmt.Sprintf(`worker_processes 1;
error_log stderr notice;
events { worker_connections 256; }
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[2]s;
}
`, dir, site)
	mainFile := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(mainFile, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", mainFile, "-e", "stderr",
		"-g", fmt.Sprintf("daemon off; pid %s;", filepath.Join(dir, "nginx.pid")))
	p, err := startProcess("nginx", cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("nginx, last lines:\n%s", p.log.Tail(30))
		}
	})
	if _, err := p.log.Wait("start worker process", 0, startTimeout); err != nil {
		t.Fatalf("nginx: %v; its output:\n%s", err, p.log.Tail(30))
	}
	return p
}

// waitRequests waits until the instances have logged n requests in all
// since the marks: an instance logs a request once it has answered it,
// so the last line can come just after the client has its answer.
func waitRequests(insts [2]*instance, marks [2]int, n int) (counts [2]int, err error) {
	deadline := time.NewTimer(10 * time.Second)
	defer deadline.Stop()
	for {
		var changed [2]<-chan struct{}
		for i, in := range insts {
			changed[i] = in.log.Changed()
			counts[i] = in.log.Count(marks[i], "msg=request ")
		}
		if counts[0]+counts[1] >= n {
			if counts[0]+counts[1] > n {
				return counts, fmt.Errorf("the instances logged %d requests, %d were sent", counts[0]+counts[1], n)
			}
			return counts, nil
		}
		select {
		case <-changed[0]:
		case <-changed[1]:
		case <-deadline.C:
			return counts, fmt.Errorf("the instances logged %d requests, %d were sent", counts[0]+counts[1], n)
		}
	}
}

// TestThroughNginx puts deploy/nginx.conf, TLS and all, in front of two
// instances, with nginx's origin as the instances' origin, and shows that
// a full password login, passkey registration and passkey login work
// through it, that requests spread over both instances, and that what
// passkeyd sends (cookies, security headers, refusals) arrives intact.
func TestThroughNginx(t *testing.T) {
	nginx := findNginx(t)
	dsn := freshSchema(t)
	httpsPort, httpPort := freePort(t), freePort(t)
	origin := fmt.Sprintf("https://localhost:%d", httpsPort)
	var insts [2]*instance
	var startErr [2]error
	var wg sync.WaitGroup
	for i, name := range []string{"A", "B"} {
		wg.Go(func() {
			insts[i], startErr[i] = startInstance(t, name, serveOptions{db: dsn, origins: []string{origin}})
		})
	}
	wg.Wait()
	for _, err := range startErr {
		if err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	startNginx(t, nginx, dir, renderNginxConf(t, [2]string{insts[0].addr, insts[1].addr}, httpsPort, httpPort, certFile, keyFile))
	addUser(t, dsn, "dave")

	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	marks := [2]int{insts[0].log.Len(), insts[1].log.Len()}
	sent := 0
	send := func(br *browser, method, path string, body []byte, contentType string, extra ...string) reply {
		t.Helper()
		sent++
		r, err := br.do(method, origin+path, body, contentType, extra...)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}

	// Password login: the session cookie comes back Secure (the origin is
	// https), and with passkeyd's security headers, once each.
	dave := newBrowser(tr)
	form := url.Values{"username": {"dave"}, "password": {testPassword}}.Encode()
	r := send(dave, "POST", "/login", []byte(form), "application/x-www-form-urlencoded")
	if r.status != http.StatusSeeOther {
		t.Fatalf("password login through nginx: %s", r)
	}
	cookie := strings.Join(r.header.Values("Set-Cookie"), "; ")
	for _, attr := range []string{"passkeyd_session=", "Secure", "HttpOnly", "SameSite=Lax"} {
		if !strings.Contains(cookie, attr) {
			t.Errorf("Set-Cookie %q lacks %s", cookie, attr)
		}
	}
	if h := r.header.Values("Strict-Transport-Security"); len(h) != 1 {
		t.Errorf("Strict-Transport-Security sent %d times: %q", len(h), h)
	}
	if h := r.header.Values("Content-Security-Policy"); len(h) != 1 {
		t.Errorf("Content-Security-Policy sent %d times", len(h))
	}
	if s := r.header.Get("Server"); s != "nginx" {
		t.Errorf("Server: %q, want nginx without its version (server_tokens off)", s)
	}

	// A passkey registered and used, all through nginx; the
	// authenticator's client is at nginx's origin.
	auth := passkeytest.New(origin, passkeytest.Options{DeviceBound: true})
	sent += 2
	p, err := dave.register(auth, origin, origin)
	if err != nil {
		t.Fatalf("registration through nginx: %v", err)
	}
	fresh := newBrowser(tr)
	sent += 2
	l, err := fresh.passkeyLogin(auth, origin, origin)
	if err != nil {
		t.Fatalf("login through nginx: %v", err)
	}
	if l.User.Username != "dave" || l.Auth.ID == nil || *l.Auth.ID != p.ID {
		t.Fatalf("login answer %+v, want dave with passkey %s", l, p.ID)
	}
	for range 20 {
		r := send(fresh, "GET", "/api/session", nil, "")
		var s sessionJSON
		if err := jsonBody(r, &s); err != nil || s.User == nil || s.User.Username != "dave" || s.Auth == nil || !s.Auth.UsePasskey {
			t.Fatalf("session through nginx: %s (%v)", r, err)
		}
	}

	// The same-origin check sees the browser's Origin through nginx.
	if r := send(newBrowser(tr), "POST", "/api/login/begin", []byte("{}"), "", "Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Errorf("cross-site begin through nginx: %s, want 403", r)
	}
	if r := send(newBrowser(tr), "POST", "/api/login/begin", []byte("{}"), "", "Origin", origin, "Sec-Fetch-Site", "same-origin"); r.status != http.StatusOK {
		t.Errorf("same-origin begin through nginx: %s, want 200", r)
	}
	if r := send(newBrowser(tr), "GET", "/healthz", nil, ""); r.status != http.StatusOK || strings.TrimSpace(string(r.body)) != "ok" {
		t.Errorf("healthz through nginx: %s", r)
	}

	// Every request reached exactly one instance, and both had a share.
	counts, err := waitRequests(insts, marks, sent)
	if err != nil {
		t.Error(err)
	}
	t.Logf("%d requests through nginx: %d to A, %d to B", sent, counts[0], counts[1])
	for i, n := range counts {
		if n < sent/4 {
			t.Errorf("instance %s got %d of %d requests: nginx does not spread them", insts[i].name, n, sent)
		}
	}

	// Plain HTTP only redirects to HTTPS.
	r, err = newBrowser(nil).do("GET", fmt.Sprintf("http://localhost:%d/login?next=/passkeys", httpPort), nil, "")
	if err != nil {
		t.Fatal(err)
	}
	if r.status != http.StatusMovedPermanently || r.header.Get("Location") != "https://localhost/login?next=/passkeys" {
		t.Errorf("plain HTTP: %d to %q, want 301 to https://localhost/login?next=/passkeys", r.status, r.header.Get("Location"))
	}
}
