package sasl

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"testing"
	"time"
)

// testCert makes a self-signed ECDSA P-256 certificate, signed with
// ECDSA-SHA256.
func testCert(t *testing.T) (tls.Certificate, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "example.net"},
		DNSNames:     []string{"example.net"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf
}

// tlsPair handshakes a client and a server over net.Pipe and returns the
// bindings each side computes.
func tlsPair(t *testing.T, cert tls.Certificate, leaf *x509.Certificate, version uint16) (client, server ChannelBinding) {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	c1, c2 := net.Pipe()
	defer c1.Close()
	defer c2.Close()
	srv := tls.Server(c1, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: version, MaxVersion: version})
	cli := tls.Client(c2, &tls.Config{RootCAs: pool, ServerName: "example.net", MinVersion: version, MaxVersion: version})
	errc := make(chan error, 1)
	go func() { errc <- srv.Handshake() }()
	if err := cli.Handshake(); err != nil {
		t.Fatalf("client handshake: %v", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	ccs, scs := cli.ConnectionState(), srv.ConnectionState()
	if ccs.Version != version {
		t.Fatalf("negotiated %x, want %x", ccs.Version, version)
	}
	return BindingFromTLS(&ccs), ServerBindingFromTLS(&scs, leaf)
}

func TestBindingFromTLS(t *testing.T) {
	if b := BindingFromTLS(nil); b.Exporter != nil || b.EndPoint != nil {
		t.Fatal("BindingFromTLS(nil) is not the zero value")
	}
	if b := ServerBindingFromTLS(nil, nil); b.Exporter != nil || b.EndPoint != nil {
		t.Fatal("ServerBindingFromTLS(nil, nil) is not the zero value")
	}
	cert, leaf := testCert(t)
	wantEndPoint := sha256.Sum256(leaf.Raw)

	c13, s13 := tlsPair(t, cert, leaf, tls.VersionTLS13)
	if len(c13.Exporter) != 32 || !bytes.Equal(c13.Exporter, s13.Exporter) {
		t.Fatalf("TLS 1.3 exporters: client %x, server %x", c13.Exporter, s13.Exporter)
	}
	if !bytes.Equal(c13.EndPoint, wantEndPoint[:]) || !bytes.Equal(s13.EndPoint, wantEndPoint[:]) {
		t.Fatalf("TLS 1.3 end-point: client %x, server %x, want %x", c13.EndPoint, s13.EndPoint, wantEndPoint)
	}
	c12, s12 := tlsPair(t, cert, leaf, tls.VersionTLS12)
	if c12.Exporter != nil || s12.Exporter != nil {
		t.Fatal("tls-exporter offered on TLS 1.2")
	}
	if !bytes.Equal(c12.EndPoint, wantEndPoint[:]) || !bytes.Equal(s12.EndPoint, wantEndPoint[:]) {
		t.Fatalf("TLS 1.2 end-point: client %x, server %x", c12.EndPoint, s12.EndPoint)
	}
	if len(c12.Unique) == 0 || !bytes.Equal(c12.Unique, s12.Unique) {
		t.Fatalf("TLS 1.2 tls-unique: client %x, server %x", c12.Unique, s12.Unique)
	}
	if c13.Unique != nil || s13.Unique != nil {
		t.Fatal("tls-unique offered on TLS 1.3")
	}
	other13, _ := tlsPair(t, cert, leaf, tls.VersionTLS13)
	if bytes.Equal(other13.Exporter, c13.Exporter) {
		t.Fatal("two connections share an exporter value")
	}

	a := newAccounts(t, testIterations(), map[string]string{"u": "p"})
	login := func(mech string, client, server ChannelBinding) error {
		c, err := NewClient(mech, "u", "p", "", client)
		if err != nil {
			t.Fatal(err)
		}
		s, err := NewServer(mech, a.lookup, server, true)
		if err != nil {
			t.Fatal(err)
		}
		return exchange(t, c, s)
	}
	for _, mech := range []string{SCRAMSHA256Plus, SCRAMSHA1Plus} {
		// tls-exporter, which the client prefers.
		if err := login(mech, c13, s13); err != nil {
			t.Errorf("%s over TLS 1.3: %v", mech, err)
		}
		// tls-server-end-point on TLS 1.3 and on TLS 1.2.
		if err := login(mech, ChannelBinding{EndPoint: c13.EndPoint}, s13); err != nil {
			t.Errorf("%s tls-server-end-point over TLS 1.3: %v", mech, err)
		}
		if err := login(mech, c12, s12); err != nil {
			t.Errorf("%s over TLS 1.2: %v", mech, err)
		}
		// tls-unique, all a Python client has, on TLS 1.2.
		if err := login(mech, ChannelBinding{Unique: c12.Unique}, s12); err != nil {
			t.Errorf("%s tls-unique over TLS 1.2: %v", mech, err)
		}
		// A client on another connection, as behind a man in the
		// middle, binds to different data.
		err := login(mech, other13, s13)
		wantFailure(t, err, NotAuthorized, "channel-bindings-dont-match")
		// tls-exporter asked for on TLS 1.2.
		err = login(mech, ChannelBinding{Exporter: c13.Exporter}, s12)
		wantFailure(t, err, MalformedRequest, "unsupported-channel-binding-type")
	}
}

func TestEndPointHash(t *testing.T) {
	raw := []byte("not really a certificate")
	s256 := sha256.Sum256(raw)
	s384 := sha512.Sum384(raw)
	s512 := sha512.Sum512(raw)
	tests := []struct {
		alg  x509.SignatureAlgorithm
		want []byte
	}{
		{x509.MD5WithRSA, s256[:]},
		{x509.SHA1WithRSA, s256[:]},
		{x509.ECDSAWithSHA1, s256[:]},
		{x509.DSAWithSHA1, s256[:]},
		{x509.SHA256WithRSA, s256[:]},
		{x509.SHA256WithRSAPSS, s256[:]},
		{x509.ECDSAWithSHA256, s256[:]},
		{x509.SHA384WithRSA, s384[:]},
		{x509.ECDSAWithSHA384, s384[:]},
		{x509.SHA384WithRSAPSS, s384[:]},
		{x509.SHA512WithRSA, s512[:]},
		{x509.ECDSAWithSHA512, s512[:]},
		{x509.SHA512WithRSAPSS, s512[:]},
		{x509.PureEd25519, nil},
		{x509.MD2WithRSA, nil},
		{x509.UnknownSignatureAlgorithm, nil},
	}
	for _, tt := range tests {
		got := EndPointBinding(&x509.Certificate{Raw: raw, SignatureAlgorithm: tt.alg})
		if !bytes.Equal(got, tt.want) {
			t.Errorf("%v: %x, want %x", tt.alg, got, tt.want)
		}
	}
}
