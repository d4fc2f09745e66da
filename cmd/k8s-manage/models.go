package main

import (
	"context"
	"fmt"

	arkmodel "github.com/cloudwego/eino-ext/components/model/ark"
	deepseekmodel "github.com/cloudwego/eino-ext/components/model/deepseek"
	ollamamodel "github.com/cloudwego/eino-ext/components/model/ollama"
	openaimodel "github.com/cloudwego/eino-ext/components/model/openai"
	qwenmodel "github.com/cloudwego/eino-ext/components/model/qwen"
	"github.com/cloudwego/eino/components/model"
	"github.com/prometheus/client_golang/prometheus"

	"k8s-manage/agent"
	"k8s-manage/agent/builtin"
	"k8s-manage/internal/config"
)

// buildModel picks the chat model provider; every hosted one gets retries and usage metrics.
func buildModel(ctx context.Context, c config.Model, reg prometheus.Registerer) (model.ToolCallingChatModel, error) {
	timeout := c.Timeout.D()
	var m model.ToolCallingChatModel
	var err error
	// The knobs, when set: temperature and the answer's token limit.
	var temp *float32
	if c.Temperature != nil {
		t := float32(*c.Temperature)
		temp = &t
	}
	var maxTokens *int
	if c.MaxTokens > 0 {
		maxTokens = &c.MaxTokens
	}
	switch c.Provider {
	case "builtin":
		return builtin.New(), nil
	case "openai":
		m, err = openaimodel.NewChatModel(ctx, &openaimodel.ChatModelConfig{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, Timeout: timeout,
			Temperature: temp, MaxTokens: maxTokens})
	case "ark":
		m, err = arkmodel.NewChatModel(ctx, &arkmodel.ChatModelConfig{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, Timeout: &timeout,
			Temperature: temp, MaxTokens: maxTokens})
	case "ollama":
		var o *ollamamodel.Options // nil keeps the server's defaults
		if temp != nil || maxTokens != nil {
			o = &ollamamodel.Options{Temperature: 0.8, NumPredict: -1} // Ollama's own defaults for the knob not set
			if temp != nil {
				o.Temperature = *temp
			}
			if maxTokens != nil {
				o.NumPredict = *maxTokens
			}
		}
		m, err = ollamamodel.NewChatModel(ctx, &ollamamodel.ChatModelConfig{BaseURL: c.BaseURL, Model: c.Model, Timeout: timeout, Options: o})
	case "deepseek":
		dc := &deepseekmodel.ChatModelConfig{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, Timeout: timeout, MaxTokens: c.MaxTokens}
		if temp != nil {
			dc.Temperature = *temp
		}
		m, err = deepseekmodel.NewChatModel(ctx, dc)
	case "qwen":
		m, err = qwenmodel.NewChatModel(ctx, &qwenmodel.ChatModelConfig{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, Timeout: timeout,
			Temperature: temp, MaxTokens: maxTokens})
	default:
		return nil, fmt.Errorf("agent.model.provider: unknown provider %q", c.Provider)
	}
	if err != nil {
		return nil, fmt.Errorf("agent.model (%s): %w", c.Provider, err)
	}
	return agent.Resilient(m, agent.ModelOptions{Provider: c.Provider, MaxRetries: c.MaxRetries, Registry: reg}), nil
}
