// goclient: a Go net/http client (the stack Terraform's azurerm/azapi providers use) that signs
// in against login.microsoftonline.com with the authorization code grant and calls ARM.
// It uses only the standard library and the environment exactly as Terraform does:
// HTTPS_PROXY via http.ProxyFromEnvironment and SSL_CERT_FILE as its root store, so under
// `authscope run` it reaches the fake Entra upstream through the proxy.
//
//	goclient -pkce=true   # code_challenge S256 + code_verifier (clean)
//	goclient -pkce=false  # no PKCE at all (authscope: pkce-missing)
//
// Prints one line per step ("GET https://... 302") and exits 0 when every step answered as
// expected, 1 otherwise.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

const (
	login       = "https://login.microsoftonline.com"
	arm         = "https://management.azure.com"
	subscriptn  = "11111111-2222-4333-8444-555555555555"
	azureCLI    = "04b07795-8ddb-461a-bbee-02f9e1bf7b46"
	redirectURI = "http://localhost:8400"
	userAgent   = "Go-http-client/1.1 authscope-goclient/1.0"
)

func randomB64(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "goclient: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	pkce := flag.Bool("pkce", true, "use PKCE S256")
	flag.Parse()

	client := &http.Client{
		Timeout: 30 * time.Second,
		// The authorize step answers 302 to the app's redirect URI; a real app's browser would
		// deliver it, here the code is read from the Location header.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	do := func(req *http.Request) (*http.Response, []byte) {
		req.Header.Set("User-Agent", userAgent)
		resp, err := client.Do(req)
		if err != nil {
			fail("%s %s: %v", req.Method, req.URL, err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			fail("%s %s: reading body: %v", req.Method, req.URL, err)
		}
		fmt.Printf("%s %s %d\n", req.Method, req.URL.Redacted(), resp.StatusCode)
		return resp, body
	}

	verifier := randomB64(32)
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{}
	q.Set("client_id", azureCLI)
	q.Set("response_type", "code")
	q.Set("redirect_uri", redirectURI)
	q.Set("scope", "https://management.azure.com//.default offline_access openid profile")
	q.Set("state", randomB64(16))
	q.Set("nonce", randomB64(16))
	if *pkce {
		q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
		q.Set("code_challenge_method", "S256")
	}
	req, _ := http.NewRequest("GET", login+"/organizations/oauth2/v2.0/authorize?"+q.Encode(), nil)
	resp, _ := do(req)
	if resp.StatusCode != http.StatusFound {
		fail("authorize answered %d, want 302", resp.StatusCode)
	}
	location, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		fail("bad Location: %v", err)
	}
	code := location.Query().Get("code")
	if code == "" {
		fail("no code in Location %q", location.Redacted())
	}

	form := url.Values{}
	form.Set("grant_type", "authorization_code")
	form.Set("client_id", azureCLI)
	form.Set("code", code)
	form.Set("redirect_uri", redirectURI)
	form.Set("scope", "https://management.azure.com//.default offline_access openid profile")
	if *pkce {
		form.Set("code_verifier", verifier)
	}
	req, _ = http.NewRequest("POST", login+"/organizations/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, body := do(req)
	if resp.StatusCode != http.StatusOK {
		fail("token answered %d: %s", resp.StatusCode, body)
	}
	var token struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &token); err != nil || token.AccessToken == "" {
		fail("token response without access_token: %v", err)
	}

	req, _ = http.NewRequest("GET", arm+"/subscriptions/"+subscriptn+"/resourceGroups/rg-goclient?api-version=2021-04-01", nil)
	req.Header.Set("Authorization", "Bearer "+token.AccessToken)
	resp, _ = do(req)
	if resp.StatusCode != http.StatusOK {
		fail("ARM GET answered %d", resp.StatusCode)
	}
}
