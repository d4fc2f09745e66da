package dingtalk

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"k8s-manage/internal/textutil"
	"net/http"
	"sync"
	"time"

	"k8s-manage/agent"
	"k8s-manage/agent/approval"
)

// openAPI is the part of DingTalk's OpenAPI the surface uses: an app access token, robot
// messages to a group or a person, and interactive card delivery.
type openAPI struct {
	host, id, secret string
	http             *http.Client

	mu    sync.Mutex
	token string
	exp   time.Time
}

func (a *openAPI) accessToken(ctx context.Context) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" && time.Now().Before(a.exp) {
		return a.token, nil
	}
	body, _ := json.Marshal(map[string]string{"appKey": a.id, "appSecret": a.secret})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.host+"/v1.0/oauth2/accessToken", bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return "", fmt.Errorf("dingtalk access token: %w", err)
	}
	defer resp.Body.Close()
	var r struct {
		AccessToken string `json:"accessToken"`
		ExpireIn    int    `json:"expireIn"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil || r.AccessToken == "" {
		return "", fmt.Errorf("dingtalk access token: HTTP %d", resp.StatusCode)
	}
	a.token, a.exp = r.AccessToken, time.Now().Add(time.Duration(max(r.ExpireIn-300, 60))*time.Second)
	return a.token, nil
}

func (a *openAPI) call(ctx context.Context, path string, v any) error {
	tok, err := a.accessToken(ctx)
	if err != nil {
		return err
	}
	return postJSON(ctx, a.http, a.host+path, map[string]string{"x-acs-dingtalk-access-token": tok}, v)
}

// send posts a Markdown robot message to a group or, for one-to-one chats, to the person.
func (a *openAPI) send(ctx context.Context, robotCode string, c convo, title, md string) error {
	param, _ := json.Marshal(map[string]string{"title": textutil.Truncate(title, 60), "text": textutil.Truncate(md, 18000)})
	if c.Group {
		return a.call(ctx, "/v1.0/robot/groupMessages/send", map[string]any{"robotCode": robotCode, "openConversationId": c.ID,
			"msgKey": "sampleMarkdown", "msgParam": string(param)})
	}
	return a.call(ctx, "/v1.0/robot/oToMessages/batchSend", map[string]any{"robotCode": robotCode, "userIds": []string{c.Staff},
		"msgKey": "sampleMarkdown", "msgParam": string(param)})
}

// deliverCard creates an approval card from the template (its buttons call back over the
// stream with action=approve|reject and approval_id) and delivers it to the conversation.
func (a *openAPI) deliverCard(ctx context.Context, template, robotCode string, c convo, r *approval.Request) error {
	params := map[string]string{"title": "需要审批 / Approval needed " + r.ID, "summary": r.Summary, "requester": r.Requester,
		"target": r.Tenant + "/" + r.Env, "tool": r.Tool, "risk": r.Risk, "diff": textutil.Truncate(agent.PreviewText(r.Preview), 3000),
		"approval_id": r.ID, "status": "pending"}
	req := map[string]any{"cardTemplateId": template, "outTrackId": "k8sm-approval-" + r.ID, "callbackType": "STREAM",
		"cardData": map[string]any{"cardParamMap": params}}
	if c.Group {
		req["openSpaceId"] = "dtv1.card//IM_GROUP." + c.ID
		req["imGroupOpenSpaceModel"] = map[string]any{"supportForward": false}
		req["imGroupOpenDeliverModel"] = map[string]any{"robotCode": robotCode}
	} else {
		req["openSpaceId"] = "dtv1.card//IM_ROBOT." + c.Staff
		req["imRobotOpenSpaceModel"] = map[string]any{"supportForward": false}
		req["imRobotOpenDeliverModel"] = map[string]any{"spaceType": "IM_ROBOT", "robotCode": robotCode}
	}
	return a.call(ctx, "/v1.0/card/instances/createAndDeliver", req)
}
