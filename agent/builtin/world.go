package builtin

import (
	"time"

	"github.com/cloudwego/eino/components/model"
)

// World is what the builtin model knows of the person's world, given by the agent with each turn
// (WithWorld) instead of read back from the system prompt's text.
type World struct {
	Tenant string
	Env    string
	Role   string
	Envs   []string
	Apps   []App
	// Today resolves relative dates ("last month", "上个月").
	Today time.Time
	// Catalog is what people call the tools (NewCatalog of every tool's spec); without it
	// nothing but a how-to question is understood.
	Catalog *Catalog
}

// App is an application of the environment.
type App struct {
	Name string
	// Image is the running image: a bare tag ("升到 1.27.3") keeps its repository.
	Image string
	// Replicas is the desired count: relative amounts ("double it", "再扩两个") start from it.
	Replicas int
}

type options struct{ world *World }

// WithWorld passes the turn's world to the builtin model; other models ignore it.
func WithWorld(w World) model.Option {
	return model.WrapImplSpecificOptFn(func(o *options) { o.world = &w })
}

// view is the world as the language layer reads it.
type view struct {
	tenant string
	env    string
	envs   []string
	apps   []string
	images map[string]string
	counts map[string]int
	today  time.Time
	cat    *Catalog
}

func viewOf(opts []model.Option) view {
	return worldView(model.GetImplSpecificOptions(&options{}, opts...).world)
}

func worldView(w *World) view {
	v := view{images: map[string]string{}, counts: map[string]int{}, today: time.Now()}
	if w != nil && w.Catalog != nil {
		v.cat = w.Catalog
	} else {
		v.cat = NewCatalog(nil)
	}
	if w == nil {
		return v
	}
	v.tenant, v.env, v.envs = w.Tenant, w.Env, w.Envs
	if !w.Today.IsZero() {
		v.today = w.Today
	}
	for _, a := range w.Apps {
		v.apps = append(v.apps, a.Name)
		v.images[a.Name] = a.Image
		v.counts[a.Name] = a.Replicas
	}
	return v
}
