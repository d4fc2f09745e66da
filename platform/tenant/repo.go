package tenant

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"k8s-manage/internal/store"
	"k8s-manage/platform/perr"
)

// User is a platform user.
type User struct {
	ID            int64
	Email         string
	DisplayName   string
	PlatformAdmin bool
}

// Tenant is a team that owns one namespace per environment.
type Tenant struct {
	ID           int64
	Name         string
	DisplayName  string
	Environments []string
	CreatedAt    time.Time
}

// Member is a user's role in a tenant.
type Member struct {
	Email string
	Role  Role
}

// EnsureUser returns the user with this e-mail, creating it when absent.
func EnsureUser(ctx context.Context, q store.Querier, email, displayName string) (User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	if !validEmail(email) {
		return User{}, perr.Invalidf("email", "%q is not an e-mail address", email)
	}
	u, err := UserByEmail(ctx, q, email)
	if err == nil {
		return u, nil
	}
	if !errors.Is(err, perr.ErrNotFound) {
		return User{}, err
	}
	if _, err := q.ExecContext(ctx, "INSERT INTO users (email, display_name, created_at) VALUES (?, ?, ?) ON CONFLICT (email) DO NOTHING",
		email, displayName, time.Now().UnixMilli()); err != nil {
		return User{}, fmt.Errorf("create user %s: %w", email, err)
	}
	return UserByEmail(ctx, q, email)
}

// UserByEmail loads a user.
func UserByEmail(ctx context.Context, q store.Querier, email string) (User, error) {
	var u User
	var admin int
	err := q.QueryRowContext(ctx, "SELECT id, email, display_name, platform_admin FROM users WHERE email = ?",
		strings.ToLower(email)).Scan(&u.ID, &u.Email, &u.DisplayName, &admin)
	if errors.Is(err, sql.ErrNoRows) {
		return User{}, perr.New(perr.NotFound, "user %s not found", email)
	}
	if err != nil {
		return User{}, fmt.Errorf("load user %s: %w", email, err)
	}
	u.PlatformAdmin = admin == 1
	return u, nil
}

func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " \t\r\n,;")
}

func loadTenant(ctx context.Context, q store.Querier, name string) (Tenant, error) {
	var t Tenant
	var envs string
	var created int64
	err := q.QueryRowContext(ctx, "SELECT id, name, display_name, environments, created_at FROM tenants WHERE name = ?", name).
		Scan(&t.ID, &t.Name, &t.DisplayName, &envs, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return Tenant{}, perr.New(perr.NotFound, "tenant %s not found", name)
	}
	if err != nil {
		return Tenant{}, fmt.Errorf("load tenant %s: %w", name, err)
	}
	t.Environments = strings.Split(envs, ",")
	t.CreatedAt = time.UnixMilli(created)
	return t, nil
}

func listTenants(ctx context.Context, q store.Querier) ([]Tenant, error) {
	rows, err := q.QueryContext(ctx, "SELECT name FROM tenants ORDER BY name")
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	out := make([]Tenant, 0, len(names))
	for _, n := range names {
		t, err := loadTenant(ctx, q, n)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

func members(ctx context.Context, q store.Querier, tenantID int64) ([]Member, error) {
	rows, err := q.QueryContext(ctx, `SELECT u.email, m.role FROM tenant_members m JOIN users u ON u.id = m.user_id
		WHERE m.tenant_id = ? ORDER BY u.email`, tenantID)
	if err != nil {
		return nil, fmt.Errorf("list members: %w", err)
	}
	defer rows.Close()
	var out []Member
	for rows.Next() {
		var m Member
		var role string
		if err := rows.Scan(&m.Email, &role); err != nil {
			return nil, err
		}
		m.Role = Role(role)
		out = append(out, m)
	}
	return out, rows.Err()
}

func setMember(ctx context.Context, q store.Querier, tenantID, userID int64, role Role) error {
	res, err := q.ExecContext(ctx, "UPDATE tenant_members SET role = ? WHERE tenant_id = ? AND user_id = ?", string(role), tenantID, userID)
	if err != nil {
		return fmt.Errorf("set member role: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	_, err = q.ExecContext(ctx, "INSERT INTO tenant_members (tenant_id, user_id, role, created_at) VALUES (?, ?, ?, ?)",
		tenantID, userID, string(role), time.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("add member: %w", err)
	}
	return nil
}
