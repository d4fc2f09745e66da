package agent_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/cloudwego/eino/components/model"
	"github.com/cloudwego/eino/schema"

	"k8s-manage/agent"
)

// scripted is a zero-latency model: it asks for get_app_status once, then answers.
type scripted struct{}

func (scripted) WithTools([]*schema.ToolInfo) (model.ToolCallingChatModel, error) {
	return scripted{}, nil
}
func (scripted) Generate(_ context.Context, msgs []*schema.Message, _ ...model.Option) (*schema.Message, error) {
	if msgs[len(msgs)-1].Role == schema.Tool {
		return schema.AssistantMessage("nginx is fine", nil), nil
	}
	return schema.AssistantMessage("", []schema.ToolCall{{ID: "c1", Type: "function",
		Function: schema.FunctionCall{Name: "get_app_status", Arguments: `{"app":"nginx"}`}}}), nil
}
func (s scripted) Stream(ctx context.Context, msgs []*schema.Message, o ...model.Option) (*schema.StreamReader[*schema.Message], error) {
	m, err := s.Generate(ctx, msgs, o...)
	return schema.StreamReaderFromArray([]*schema.Message{m}), err
}

// BenchmarkTurnOverhead measures a whole turn minus model time (routing, retrieval, graph,
// checkpoint store, tool call against the sandbox API server, audit, conversation writes) at
// 1 and 50 concurrent conversations.
func BenchmarkTurnOverhead(b *testing.B) {
	w := setup(b)
	s := w.service(b, func(o *agent.Options) { o.Model = scripted{} })
	for _, conc := range []int{1, 50} {
		b.Run(fmt.Sprintf("conversations-%d", conc), func(b *testing.B) {
			var mu sync.Mutex
			var lat []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for c := range conc {
					wg.Add(1)
					go func() {
						defer wg.Done()
						start := time.Now()
						ch, err := s.Send(context.Background(), agent.Turn{Surface: "bench", Thread: fmt.Sprintf("%d-%d-%d", conc, i, c),
							User: w.viewer, Tenant: w.tenant, Text: "how is nginx?"})
						if err != nil {
							b.Error(err)
							return
						}
						ok := false
						for e := range ch {
							ok = ok || e.Type == agent.EventFinal
						}
						if !ok {
							b.Error("turn without a final answer")
						}
						mu.Lock()
						lat = append(lat, time.Since(start))
						mu.Unlock()
					}()
				}
				wg.Wait()
			}
			b.StopTimer()
			slices.Sort(lat)
			p := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
			b.ReportMetric(p(0.5), "p50-ms")
			b.ReportMetric(p(0.99), "p99-ms")
			b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "turns/s")
		})
	}
}
