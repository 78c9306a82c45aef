package pubsub_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"

	"github.com/trivium-game/trivium/services"
	"github.com/trivium-game/trivium/services/natsbus"
	"github.com/trivium-game/trivium/services/pubsub"
)

// brokers opens two handles on one broker — two processes, as far as the port can tell — for
// every implementation: in memory, on an embedded NATS server, and on the machine's NATS
// (TRIVIUM_TEST_NATS).
func brokers() map[string]func(t *testing.T) (a, b services.PubSub) {
	return map[string]func(t *testing.T) (a, b services.PubSub){
		"memory": func(t *testing.T) (services.PubSub, services.PubSub) {
			m := pubsub.NewMemory()
			return m, m
		},
		"nats-embedded": func(t *testing.T) (services.PubSub, services.PubSub) {
			ns, err := natsserver.NewServer(&natsserver.Options{DontListen: true, NoLog: true, NoSigs: true})
			if err != nil {
				t.Fatal(err)
			}
			ns.Start()
			t.Cleanup(func() { ns.Shutdown(); ns.WaitForShutdown() })
			if !ns.ReadyForConnections(10 * time.Second) {
				t.Fatal("embedded nats not ready")
			}
			return conn(t, "", nats.InProcessServer(ns)), conn(t, "", nats.InProcessServer(ns))
		},
		"nats-server": func(t *testing.T) (services.PubSub, services.PubSub) {
			url := os.Getenv("TRIVIUM_TEST_NATS")
			if url == "" {
				url = "nats://127.0.0.1:4222"
			}
			return conn(t, url), conn(t, url)
		},
	}
}

func conn(t *testing.T, url string, opts ...nats.Option) services.PubSub {
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		t.Fatalf("NATS at %q: %v (set TRIVIUM_TEST_NATS)", url, err)
	}
	t.Cleanup(nc.Close)
	return natsbus.NewPubSub(nc)
}

type msg struct{ subject, data string }

// inbox subscribes and hands every delivery to a channel.
func inbox(t *testing.T, ps services.PubSub, subject string) (<-chan msg, func()) {
	t.Helper()
	ch := make(chan msg, 256)
	unsub, err := ps.Subscribe(subject, func(s string, d []byte) { ch <- msg{s, string(d)} })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(unsub)
	return ch, unsub
}

func next(t *testing.T, ch <-chan msg, what string) msg {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return msg{}
	}
}

func publish(t *testing.T, ps services.PubSub, subject, data string) {
	t.Helper()
	if err := ps.Publish(subject, []byte(data)); err != nil {
		t.Fatal(err)
	}
}

// Every implementation keeps the port's promises; a driver that passes is interchangeable.
func TestPubSubImplementationsAgree(t *testing.T) {
	for name, open := range brokers() {
		t.Run(name, func(t *testing.T) {
			// Subjects are unique per run: the machine's NATS is shared with other tests.
			root := fmt.Sprintf("t%d", time.Now().UnixNano())
			t.Run("every subscriber in every process gets each message", func(t *testing.T) {
				a, b := open(t)
				onA, _ := inbox(t, a, root+".fan")
				onB, _ := inbox(t, b, root+".fan")
				publish(t, a, root+".fan", "hello")
				for _, ch := range []<-chan msg{onA, onB} {
					if m := next(t, ch, "the fan-out"); m != (msg{root + ".fan", "hello"}) {
						t.Fatalf("got %+v", m)
					}
				}
			})
			t.Run("a star matches one token and reports the subject", func(t *testing.T) {
				a, b := open(t)
				star, _ := inbox(t, b, root+".star.*")
				publish(t, a, root+".star.p1.extra", "too deep")
				publish(t, a, root+".other.p1", "elsewhere")
				publish(t, a, root+".star.p1", "one")
				if m := next(t, star, "the starred subject"); m != (msg{root + ".star.p1", "one"}) {
					t.Fatalf("got %+v, want only %s.star.p1 (messages on one subscription keep their order)", m, root)
				}
			})
			t.Run("a final > matches the rest", func(t *testing.T) {
				a, b := open(t)
				tail, _ := inbox(t, b, root+".tail.>")
				publish(t, a, root+".tail", "no token after it")
				publish(t, a, root+".tail.x.y", "deep")
				if m := next(t, tail, "the tail"); m != (msg{root + ".tail.x.y", "deep"}) {
					t.Fatalf("got %+v", m)
				}
			})
			t.Run("unsubscribed handlers get nothing more", func(t *testing.T) {
				a, b := open(t)
				gone, unsub := inbox(t, b, root+".unsub")
				stays, _ := inbox(t, b, root+".unsub")
				publish(t, a, root+".unsub", "before")
				next(t, gone, "the first message")
				next(t, stays, "the first message")
				unsub()
				publish(t, a, root+".unsub", "after")
				next(t, stays, "the message after unsubscribing")
				select {
				case m := <-gone:
					t.Fatalf("an unsubscribed handler got %+v", m)
				default:
				}
			})
			t.Run("one subscription gets messages in publish order", func(t *testing.T) {
				a, b := open(t)
				ch, _ := inbox(t, b, root+".order")
				for i := range 200 {
					publish(t, a, root+".order", strconv.Itoa(i))
				}
				for i := range 200 {
					if m := next(t, ch, "message "+strconv.Itoa(i)); m.data != strconv.Itoa(i) {
						t.Fatalf("message %d is %q", i, m.data)
					}
				}
			})
		})
	}
}

// The bus hands out the port on its own connection, so serve needs no second connection.
func TestTheBusCarriesThePortOnItsConnection(t *testing.T) {
	bus, err := natsbus.OpenEmbedded(context.Background(), t.TempDir(), natsbus.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bus.Close() })
	ch, _ := inbox(t, bus.PubSub(), "trivium.test.x")
	publish(t, bus.PubSub(), "trivium.test.x", "ok")
	if m := next(t, ch, "the message"); m.data != "ok" {
		t.Fatalf("got %+v", m)
	}
}
