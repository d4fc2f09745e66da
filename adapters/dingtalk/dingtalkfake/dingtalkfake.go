// Package dingtalkfake is test support: a local DingTalk gateway speaking the Stream protocol
// (connections/open, then WebSocket data frames and acks), session webhooks, the OpenAPI calls the
// surface makes (access token, robot messages, card delivery) and group custom robots, so the
// real dingtalk-stream-sdk-go client runs end to end against it.
package dingtalkfake

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Sent is a message the fake received for a conversation (webhook, OpenAPI or robot).
type Sent struct {
	Via   string // webhook:<conversation>, group:<id>, oto:<staff>, robot:<token>, card
	Title string
	Text  string
	Raw   map[string]any
}

// Server is the fake.
type Server struct {
	*httptest.Server
	ClientID, ClientSecret string
	// RobotSecrets are the signing secrets of custom robots by access token.
	RobotSecrets map[string]string

	mu     sync.Mutex
	conn   *websocket.Conn
	opens  int
	acks   []map[string]any
	sent   []Sent
	noPong bool
	refuse int // connections/open calls still to refuse
}

// New starts the fake for an app's credentials.
func New(clientID, clientSecret string) *Server {
	s := &Server{ClientID: clientID, ClientSecret: clientSecret, RobotSecrets: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1.0/gateway/connections/open", s.open)
	mux.HandleFunc("GET /connect", s.connect)
	mux.HandleFunc("POST /session/{conv}", s.session)
	mux.HandleFunc("POST /v1.0/oauth2/accessToken", s.token)
	mux.HandleFunc("POST /v1.0/robot/groupMessages/send", s.openapi("group"))
	mux.HandleFunc("POST /v1.0/robot/oToMessages/batchSend", s.openapi("oto"))
	mux.HandleFunc("POST /v1.0/card/instances/createAndDeliver", s.openapi("card"))
	mux.HandleFunc("POST /robot/send", s.robot)
	s.Server = httptest.NewServer(mux)
	return s
}

// DropPongs makes the gateway ignore keepalive pings from now on (a half-dead connection).
func (s *Server) DropPongs(drop bool) { s.mu.Lock(); s.noPong = drop; s.mu.Unlock() }

// RefuseOpens makes the next n connections/open calls fail with 503 (a gateway outage).
func (s *Server) RefuseOpens(n int) { s.mu.Lock(); s.refuse = n; s.mu.Unlock() }

// Opens counts connections/open calls (first connect plus reconnects).
func (s *Server) Opens() int { s.mu.Lock(); defer s.mu.Unlock(); return s.opens }

// Connected reports whether a stream connection is up.
func (s *Server) Connected() bool { s.mu.Lock(); defer s.mu.Unlock(); return s.conn != nil }

func (s *Server) open(w http.ResponseWriter, r *http.Request) {
	var req struct {
		ClientID      string `json:"clientId"`
		ClientSecret  string `json:"clientSecret"`
		Subscriptions []struct{ Type, Topic string }
	}
	_ = json.NewDecoder(r.Body).Decode(&req)
	if req.ClientID != s.ClientID || req.ClientSecret != s.ClientSecret {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"code":"InvalidAuthentication","message":"bad credentials"}`))
		return
	}
	s.mu.Lock()
	s.opens++
	n := s.opens
	refuse := s.refuse > 0
	if refuse {
		s.refuse--
	}
	s.mu.Unlock()
	if refuse {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"code":"ServiceUnavailable","message":"try later"}`))
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]string{"endpoint": "ws://" + r.Host + "/connect", "ticket": fmt.Sprintf("ticket-%d", n)})
}

var upgrader = websocket.Upgrader{}

func (s *Server) connect(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	conn.SetPingHandler(func(data string) error {
		s.mu.Lock()
		drop := s.noPong
		s.mu.Unlock()
		if drop {
			return nil
		}
		return conn.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	s.mu.Lock()
	if s.conn != nil {
		_ = s.conn.Close()
	}
	s.conn = conn
	s.mu.Unlock()
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			s.mu.Lock()
			if s.conn == conn {
				s.conn = nil
			}
			s.mu.Unlock()
			return
		}
		var ack map[string]any
		if json.Unmarshal(msg, &ack) == nil {
			s.mu.Lock()
			s.acks = append(s.acks, ack)
			s.mu.Unlock()
		}
	}
}

// Push sends a CALLBACK data frame on topic with data (marshalled to the frame's JSON string);
// it returns the frame's message id.
func (s *Server) Push(topic, messageID string, data any) error {
	b, _ := json.Marshal(data)
	frame, _ := json.Marshal(map[string]any{"specVersion": "1.0", "type": "CALLBACK",
		"headers": map[string]string{"topic": topic, "messageId": messageID, "contentType": "application/json", "time": strconv.FormatInt(time.Now().UnixMilli(), 10)},
		"data":    string(b)})
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn == nil {
		return fmt.Errorf("no stream connection")
	}
	return s.conn.WriteMessage(websocket.TextMessage, frame)
}

// ExpiredBotMessage is BotMessage whose session webhook has expired (replies must use the OpenAPI).
func (s *Server) ExpiredBotMessage(msgID, conversation, staff, text string) map[string]any {
	m := s.BotMessage(msgID, conversation, staff, text, true)
	m["sessionWebhookExpiredTime"] = time.Now().Add(-time.Minute).UnixMilli()
	return m
}

// BotMessage is a chatbot callback from staff in conversation (group when group is true).
func (s *Server) BotMessage(msgID, conversation, staff, text string, group bool) map[string]any {
	typ := "1"
	if group {
		typ = "2"
	}
	return map[string]any{"conversationId": conversation, "conversationType": typ, "msgId": msgID, "senderStaffId": staff,
		"senderNick": staff, "text": map[string]string{"content": text}, "msgtype": "text", "isInAtList": true,
		"sessionWebhook": s.URL + "/session/" + conversation, "sessionWebhookExpiredTime": time.Now().Add(time.Hour).UnixMilli(),
		"robotCode": s.ClientID}
}

// CardCallback is an approval card's button press by staff.
func CardCallback(outTrackID, staff, conversation string, params map[string]string) map[string]any {
	content, _ := json.Marshal(map[string]any{"cardPrivateData": map[string]any{"actionIds": []string{"decide"}, "params": params}})
	return map[string]any{"outTrackId": outTrackID, "userId": staff, "spaceId": conversation, "spaceType": "IM_GROUP", "type": "actionCallback",
		"content": string(content), "corpId": "ding-corp"}
}

// Acks are the client's responses to pushed frames.
func (s *Server) Acks() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any{}, s.acks...)
}

func (s *Server) record(m Sent) {
	s.mu.Lock()
	s.sent = append(s.sent, m)
	s.mu.Unlock()
}

// Sent returns what was sent, in order.
func (s *Server) Sent() []Sent { s.mu.Lock(); defer s.mu.Unlock(); return append([]Sent{}, s.sent...) }

func decodeMsg(r io.Reader) (map[string]any, string, string) {
	var raw map[string]any
	_ = json.NewDecoder(r).Decode(&raw)
	var title, text string
	if md, ok := raw["markdown"].(map[string]any); ok {
		title, _ = md["title"].(string)
		text, _ = md["text"].(string)
	}
	if t, ok := raw["text"].(map[string]any); ok {
		text, _ = t["content"].(string)
	}
	if p, ok := raw["msgParam"].(string); ok {
		var mp map[string]string
		_ = json.Unmarshal([]byte(p), &mp)
		title, text = mp["title"], mp["text"]
	}
	if cd, ok := raw["cardData"].(map[string]any); ok {
		b, _ := json.Marshal(cd)
		text = string(b)
	}
	return raw, title, text
}

func (s *Server) session(w http.ResponseWriter, r *http.Request) {
	raw, title, text := decodeMsg(r.Body)
	s.record(Sent{Via: "webhook:" + r.PathValue("conv"), Title: title, Text: text, Raw: raw})
	_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	var req struct{ AppKey, AppSecret string }
	_ = json.NewDecoder(r.Body).Decode(&req)
	if req.AppKey != s.ClientID || req.AppSecret != s.ClientSecret {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"accessToken": "at-fake", "expireIn": 7200})
}

func (s *Server) openapi(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("x-acs-dingtalk-access-token") != "at-fake" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		raw, title, text := decodeMsg(r.Body)
		via := kind
		if id, ok := raw["openConversationId"].(string); ok {
			via += ":" + id
		}
		s.record(Sent{Via: via, Title: title, Text: text, Raw: raw})
		_, _ = w.Write([]byte(`{"processQueryKey":"q"}`))
	}
}

// robot is a group custom robot: ?access_token=&timestamp=&sign= with the robot's secret.
func (s *Server) robot(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	tok := q.Get("access_token")
	s.mu.Lock()
	secret, ok := s.RobotSecrets[tok]
	s.mu.Unlock()
	if !ok {
		_, _ = w.Write([]byte(`{"errcode":300001,"errmsg":"token is not exist"}`))
		return
	}
	ts, _ := strconv.ParseInt(q.Get("timestamp"), 10, 64)
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d\n%s", ts, secret)
	if q.Get("sign") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) || time.Since(time.UnixMilli(ts)) > time.Hour {
		_, _ = w.Write([]byte(`{"errcode":310000,"errmsg":"sign not match"}`))
		return
	}
	raw, title, text := decodeMsg(r.Body)
	s.record(Sent{Via: "robot:" + tok, Title: title, Text: text, Raw: raw})
	_, _ = w.Write([]byte(`{"errcode":0,"errmsg":"ok"}`))
}

// Texts are the texts sent to a conversation's webhook or group.
func (s *Server) Texts(conversation string) []string {
	var out []string
	for _, m := range s.Sent() {
		if strings.HasSuffix(m.Via, ":"+conversation) {
			out = append(out, m.Title+"\n"+m.Text)
		}
	}
	return out
}
