// Command authflood fires N parallel registrations at a Trivium server from one address and
// prints the answers by status; bench/authflood.sh wraps it with the server's RSS and CPU.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"sort"
	"sync"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:8080", "server base URL")
	n := flag.Int("n", 200, "parallel registrations")
	flag.Parse()
	tag := time.Now().UnixNano() % 1_000_000
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: *n}, Timeout: 2 * time.Minute}
	for i := range *n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			body := fmt.Sprintf(`{"username":"flood%d_%d","password":"correct horse battery"}`, tag, i)
			code := 0
			if resp, err := client.Post(*url+"/api/v1/auth/register", "application/json", bytes.NewBufferString(body)); err == nil {
				code = resp.StatusCode
				resp.Body.Close()
			}
			mu.Lock()
			codes[code]++
			mu.Unlock()
		}()
	}
	t := time.Now()
	close(start)
	wg.Wait()
	keys := make([]int, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	fmt.Fprintf(os.Stdout, "answers in %.2f s:", time.Since(t).Seconds())
	for _, k := range keys {
		fmt.Fprintf(os.Stdout, " %d×%d", codes[k], k)
	}
	fmt.Println()
}
