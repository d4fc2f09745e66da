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
	switch c.Provider {
	case "builtin":
		return builtin.New(), nil
	case "openai":
		m, err = openaimodel.NewChatModel(ctx, &openaimodel.ChatModelConfig{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, Timeout: timeout})
	case "ark":
		m, err = arkmodel.NewChatModel(ctx, &arkmodel.ChatModelConfig{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, Timeout: &timeout})
	case "ollama":
		m, err = ollamamodel.NewChatModel(ctx, &ollamamodel.ChatModelConfig{BaseURL: c.BaseURL, Model: c.Model, Timeout: timeout})
	case "deepseek":
		m, err = deepseekmodel.NewChatModel(ctx, &deepseekmodel.ChatModelConfig{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, Timeout: timeout})
	case "qwen":
		m, err = qwenmodel.NewChatModel(ctx, &qwenmodel.ChatModelConfig{BaseURL: c.BaseURL, APIKey: c.APIKey, Model: c.Model, Timeout: timeout})
	default:
		return nil, fmt.Errorf("agent.model.provider: unknown provider %q", c.Provider)
	}
	if err != nil {
		return nil, fmt.Errorf("agent.model (%s): %w", c.Provider, err)
	}
	return agent.Resilient(m, agent.ModelOptions{Provider: c.Provider, MaxRetries: c.MaxRetries, Registry: reg}), nil
}
