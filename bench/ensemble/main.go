// Command ensemble benchmarks the ensemble S3 proxy over loopback.
//
//	go run ./bench/ensemble -bin bin/lakegate
//
// In one run it starts a planner and an ensemble (the real binary) and, in
// this process, the upstream: gofakes3 (in memory) for real objects, and
// for bucket "zeros" a synthetic store that streams N bytes of zeros without
// holding them (gofakes3 keeps whole objects in memory, which would make a
// 100 GiB test measure the upstream). It measures, with the AWS SDK for Go v2
// as the client:
//
//  1. 64 MiB GETs through the proxy and directly against the same upstream,
//     alternating, and the ratio of their throughputs;
//  2. 4 KiB GETs, sequential, alternating proxy and direct: p50/p99 of each
//     and the latency the proxy adds (its decision cache is warm: the first
//     request of a key asks the planner, later ones reuse the decision);
//  3. the proxy's resident memory (VmRSS sampled, and VmHWM) while 100
//     clients each stream a 1 GiB object through it concurrently.
//
// Client, upstream, proxy and planner share the machine's cores.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/lakegate/lakegate/bench/stats"
)

type config struct {
	bin        string
	bigSize    int64
	bigRuns    int
	smallN     int
	memStreams int
	memSize    int64
	keep       bool
	relay      string // internal: "listen,target" runs the bare TCP relay (a child of this program)
}

func main() {
	var c config
	flag.StringVar(&c.bin, "bin", "bin/lakegate", "the lakegate binary")
	flag.Int64Var(&c.bigSize, "big", 64<<20, "size of the large object (bytes)")
	flag.IntVar(&c.bigRuns, "big-runs", 10, "GETs of the large object per side")
	flag.IntVar(&c.smallN, "small", 2000, "GETs of the 4 KiB object per side")
	flag.IntVar(&c.memStreams, "streams", 100, "concurrent streams in the memory test")
	flag.Int64Var(&c.memSize, "stream-size", 1<<30, "bytes per stream in the memory test")
	flag.BoolVar(&c.keep, "keep", false, "keep the work directory")
	flag.StringVar(&c.relay, "tcp-relay", "", "internal: run the bare TCP relay 'listen,target' (the throughput ceiling)")
	flag.Parse()
	if c.relay != "" {
		listen, target, _ := strings.Cut(c.relay, ",")
		if err := tcpRelay(listen, target); err != nil {
			fmt.Fprintln(os.Stderr, "bench/ensemble relay:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(c); err != nil {
		fmt.Fprintln(os.Stderr, "bench/ensemble:", err)
		os.Exit(1)
	}
}

// zeros streams a synthetic object of the size named by the key
// (/zeros/<bytes>) without holding it.
func zeros(w http.ResponseWriter, r *http.Request) {
	name := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	n, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		http.Error(w, "key must be a size", 404)
		return
	}
	w.Header().Set("Content-Length", strconv.FormatInt(n, 10))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("ETag", `"zeros"`)
	w.WriteHeader(200)
	if r.Method == http.MethodHead {
		return
	}
	buf := make([]byte, 256<<10)
	for n > 0 {
		k := int64(len(buf))
		if n < k {
			k = n
		}
		if _, err := w.Write(buf[:k]); err != nil {
			return
		}
		n -= k
	}
}

// tcpRelay forwards every connection to target with io.Copy between the two
// TCP connections, which Linux does with splice(2): the cheapest a separate
// relay process can be, no HTTP, no authorization. The parent checks it is
// ready with a GET through it.
func tcpRelay(listen, target string) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer c.Close()
			u, err := net.Dial("tcp", target)
			if err != nil {
				return
			}
			defer u.Close()
			go func() { _, _ = io.Copy(u, c); _ = u.(*net.TCPConn).CloseWrite() }()
			_, _ = io.Copy(c, u)
		}()
	}
}

type proc struct {
	cmd  *exec.Cmd
	done chan error
}

func start(bin string, args, env []string, log, ready string) (*proc, error) {
	f, err := os.Create(log)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	go func() { p.done <- cmd.Wait() }()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		select {
		case err := <-p.done:
			b, _ := os.ReadFile(log)
			return nil, fmt.Errorf("%s exited at start: %v\n%s", args[0], err, b)
		default:
		}
		if resp, err := http.Get(ready); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p, nil
			}
		}
	}
	return nil, fmt.Errorf("%s not ready in 30s", args[0])
}

func (p *proc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		_ = p.cmd.Process.Kill()
	}
}

func freeAddr() string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func lakegate(bin string, env []string, args ...string) (string, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		return "", fmt.Errorf("lakegate %v: %v %s", args, err, stderr)
	}
	return strings.TrimSpace(string(out)), nil
}

func client(endpoint, id, secret string) *s3.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 256, DisableCompression: true, ReadBufferSize: 256 << 10, WriteBufferSize: 256 << 10}
	return s3.NewFromConfig(aws.Config{Region: "us-east-1", RetryMaxAttempts: 1, HTTPClient: &http.Client{Transport: tr},
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: id, SecretAccessKey: secret}, nil
		})}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true
	})
}

func getAll(c *s3.Client, bucket, key string, buf []byte) (int64, error) {
	out, err := c.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	return io.CopyBuffer(io.Discard, out.Body, buf)
}

// rss returns VmRSS and VmHWM of pid in bytes.
func rss(pid int) (cur, peak int64) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmRSS:":
			cur = v << 10
		case "VmHWM:":
			peak = v << 10
		}
	}
	return cur, peak
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func run(c config) error {
	dir, err := os.MkdirTemp("", "lakegate-bench-ensemble")
	if err != nil {
		return err
	}
	if !c.keep {
		defer os.RemoveAll(dir)
	}
	fake := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true)).Server()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/zeros/") {
			zeros(w, r)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer up.Close()

	keys := filepath.Join(dir, "k")
	if _, err := lakegate(c.bin, nil, "keygen", "--out", keys); err != nil {
		return err
	}
	master := filepath.Join(dir, "master.key")
	if _, err := lakegate(c.bin, nil, "ensemble", "keygen", "--out", master); err != nil {
		return err
	}
	paddr := freeAddr()
	planner, err := start(c.bin, []string{"serve", "--listen", paddr, "--data-dir", filepath.Join(dir, "planner"),
		"--jwt-public-key", filepath.Join(keys, "jwt-public.pem"), "--trusted-proxy", "svc-ensemble"},
		nil, filepath.Join(dir, "planner.log"), "http://"+paddr+"/readyz")
	if err != nil {
		return err
	}
	defer planner.stop()
	tok := func(user string, groups ...string) (string, error) {
		args := []string{"token", "--key", filepath.Join(keys, "jwt-private.pem"), "--user", user, "--ttl", "24h"}
		if len(groups) > 0 {
			args = append(args, "--groups", strings.Join(groups, ","))
		}
		return lakegate(c.bin, nil, args...)
	}
	admin, err := tok("root", "admin")
	if err != nil {
		return err
	}
	svc, err := tok("svc-ensemble")
	if err != nil {
		return err
	}
	user, err := tok("reader", "readers")
	if err != nil {
		return err
	}
	if _, err := lakegate(c.bin, []string{"OKERA_PLANNER=" + paddr, "OKERA_TOKEN=" + admin}, "sql",
		"CREATE ROLE reader; GRANT ROLE reader TO GROUP readers; GRANT SELECT ON URI 's3://bench' TO ROLE reader; GRANT SELECT ON URI 's3://zeros' TO ROLE reader"); err != nil {
		return err
	}
	eaddr := freeAddr()
	ens, err := start(c.bin, []string{"ensemble", "--listen", eaddr, "--planner", paddr, "--upstream", up.URL, "--upstream-style", "path",
		"--master-key-file", master, "--data-dir", filepath.Join(dir, "ensemble"), "--log-level", "warn"},
		[]string{"OKERA_TOKEN=" + svc, "AWS_ACCESS_KEY_ID=bench", "AWS_SECRET_ACCESS_KEY=bench-secret", "AWS_REGION=us-east-1"},
		filepath.Join(dir, "ensemble.log"), "http://"+eaddr+"/_lakegate/healthz")
	if err != nil {
		return err
	}
	defer ens.stop()
	out, err := lakegate(c.bin, []string{"OKERA_TOKEN=" + user, "LAKEGATE_ENSEMBLE=http://" + eaddr}, "ensemble", "credentials", "--ttl", "12h")
	if err != nil {
		return err
	}
	var cr struct{ AccessKeyId, SecretAccessKey string }
	if err := json.Unmarshal([]byte(out), &cr); err != nil {
		return err
	}
	// The ceiling for a relay in its own process on this machine: a bare TCP relay (splice).
	self, err := os.Executable()
	if err != nil {
		return err
	}
	raddr := freeAddr()
	relay, err := start(self, []string{"-tcp-relay", raddr + "," + strings.TrimPrefix(up.URL, "http://")}, nil,
		filepath.Join(dir, "relay.log"), "http://"+raddr+"/zeros/0")
	if err != nil {
		return err
	}
	defer relay.stop()
	direct := client(up.URL, "bench", "bench-secret")
	proxied := client("http://"+eaddr, cr.AccessKeyId, cr.SecretAccessKey)
	relayed := client("http://"+raddr, "bench", "bench-secret")
	ctx := context.Background()
	if _, err := direct.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("bench")}); err != nil {
		return err
	}
	big := bytes.Repeat([]byte("lakegate"), int(c.bigSize/8))
	small := bytes.Repeat([]byte("s"), 4096)
	for k, b := range map[string][]byte{"big": big, "small": small} {
		if _, err := direct.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bench"), Key: aws.String(k), Body: bytes.NewReader(b)}); err != nil {
			return err
		}
	}
	fmt.Printf("ensemble benchmark — %s, %d CPUs, %s; load average at start %s\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"),
		runtime.NumCPU(), runtime.Version(), loadavg())

	// 1. throughput
	buf := make([]byte, 256<<10)
	var dT, pT, rT []float64
	for i := 0; i < c.bigRuns+1; i++ {
		for side, cl := range []*s3.Client{direct, proxied, relayed} {
			t0 := time.Now()
			n, err := getAll(cl, "bench", "big", buf)
			if err != nil {
				return fmt.Errorf("64 MiB GET: %w", err)
			}
			if n != c.bigSize {
				return fmt.Errorf("64 MiB GET returned %d bytes", n)
			}
			mbps := float64(n) / (1 << 20) / time.Since(t0).Seconds()
			if i == 0 {
				continue // warm-up
			}
			switch side {
			case 0:
				dT = append(dT, mbps)
			case 1:
				pT = append(pT, mbps)
			default:
				rT = append(rT, mbps)
			}
		}
	}
	slices.Sort(dT)
	slices.Sort(pT)
	slices.Sort(rT)
	dm, pm, rm := dT[len(dT)/2], pT[len(pT)/2], rT[len(rT)/2]
	fmt.Printf("\n1. %d MiB GET, %d runs per side, alternating (median MiB/s; min–max)\n", c.bigSize>>20, c.bigRuns)
	fmt.Printf("   direct to the upstream  %8.0f  (%0.f–%0.f)\n", dm, dT[0], dT[len(dT)-1])
	fmt.Printf("   through the ensemble    %8.0f  (%0.f–%0.f)\n", pm, pT[0], pT[len(pT)-1])
	fmt.Printf("   through a bare TCP relay %7.0f  (%0.f–%0.f)  (a process that only splices bytes: the ceiling here)\n", rm, rT[0], rT[len(rT)-1])
	fmt.Printf("   ratio proxy/direct      %8.3f  (target ≥ 0.9: %s)\n", pm/dm, stats.Met(pm/dm >= 0.9))
	fmt.Printf("   ratio relay/direct      %8.3f;  proxy/relay %0.3f\n", rm/dm, pm/rm)

	// 2. latency
	var dL, pL []time.Duration
	for i := 0; i < c.smallN+50; i++ {
		for side, cl := range []*s3.Client{direct, proxied} {
			t0 := time.Now()
			if _, err := getAll(cl, "bench", "small", buf); err != nil {
				return fmt.Errorf("4 KiB GET: %w", err)
			}
			d := time.Since(t0)
			if i < 50 {
				continue
			}
			if side == 0 {
				dL = append(dL, d)
			} else {
				pL = append(pL, d)
			}
		}
	}
	ds, ps := stats.Of(dL), stats.Of(pL)
	fmt.Printf("\n2. 4 KiB GET, %d sequential requests per side, alternating (SDK client round trip)\n", c.smallN)
	fmt.Printf("   %-22s %10s %10s %10s\n", "", "p50", "p90", "p99")
	fmt.Printf("   %-22s %10s %10s %10s\n", "direct", stats.D(ds.P50), stats.D(ds.P90), stats.D(ds.P99))
	fmt.Printf("   %-22s %10s %10s %10s\n", "through the ensemble", stats.D(ps.P50), stats.D(ps.P90), stats.D(ps.P99))
	fmt.Printf("   %-22s %10s %10s %10s  (target p99 ≤ 1 ms: %s)\n", "added", stats.D(ps.P50-ds.P50), stats.D(ps.P90-ds.P90), stats.D(ps.P99-ds.P99), stats.Met(ps.P99-ds.P99 <= time.Millisecond))

	// 3. memory
	pid := ens.cmd.Process.Pid
	base, _ := rss(pid)
	var done atomic.Int64
	var maxRSS atomic.Int64
	stop := make(chan struct{})
	var samples []int64
	var smu sync.Mutex
	go func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				cur, _ := rss(pid)
				smu.Lock()
				samples = append(samples, cur)
				smu.Unlock()
				for m := maxRSS.Load(); cur > m && !maxRSS.CompareAndSwap(m, cur); m = maxRSS.Load() {
				}
			}
		}
	}()
	key := strconv.FormatInt(c.memSize, 10)
	t0 := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, c.memStreams)
	for i := 0; i < c.memStreams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := make([]byte, 256<<10)
			n, err := getAll(proxied, "zeros", key, b)
			if err == nil && n != c.memSize {
				err = fmt.Errorf("stream returned %d bytes", n)
			}
			if err != nil {
				errs <- err
				return
			}
			done.Add(n)
		}()
	}
	wg.Wait()
	close(stop)
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("memory test: %w", err)
	}
	el := time.Since(t0)
	_, hwm := rss(pid)
	smu.Lock()
	slices.Sort(samples)
	med := int64(0)
	if len(samples) > 0 {
		med = samples[len(samples)/2]
	}
	smu.Unlock()
	fmt.Printf("\n3. %d concurrent streams of %s each through the ensemble (synthetic zero-streaming upstream)\n", c.memStreams, mib(c.memSize))
	fmt.Printf("   transferred %.1f GiB in %.1f s (%.0f MiB/s aggregate)\n", float64(done.Load())/(1<<30), el.Seconds(), float64(done.Load())/(1<<20)/el.Seconds())
	fmt.Printf("   proxy RSS before %s, median while streaming %s, max sampled %s, VmHWM (peak since start) %s\n", mib(base), mib(med), mib(maxRSS.Load()), mib(hwm))
	fmt.Printf("   load average at end %s\n", loadavg())
	return nil
}

func loadavg() string {
	b, _ := os.ReadFile("/proc/loadavg")
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
