package web

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"
)

// Graphs and charts are laid out here and drawn by templates as inline SVG: no JavaScript, so
// the strict CSP holds, and every label goes through html/template's escaping like any text.

// gNode is one node of a graph to draw.
type gNode struct {
	ID   string // identity (an ARN, or "internet"), shown in full as the tooltip
	Name string // what the box says (shortened to fit)
	Sub  string // second line, e.g. the resource type
	Kind string // internet | resource | role | data | admin | account: the CSS class
	Href string // a same-origin link, or ""
}

// gEdge is one directed edge, labelled with the rule or fact that lets the path through.
type gEdge struct {
	From, To string
	Label    string
}

// dagGraph collects nodes and edges in insertion order, deduplicating both.
type dagGraph struct {
	nodes []gNode
	index map[string]int
	edges []gEdge
	seen  map[[2]string]int
}

func newDAG() *dagGraph { return &dagGraph{index: map[string]int{}, seen: map[[2]string]int{}} }

func (g *dagGraph) node(n gNode) {
	if _, ok := g.index[n.ID]; ok {
		return
	}
	g.index[n.ID] = len(g.nodes)
	g.nodes = append(g.nodes, n)
}

// edge adds an edge; a second edge between the same nodes adds its label to the first.
func (g *dagGraph) edge(from, to, label string) {
	if from == to {
		return
	}
	k := [2]string{from, to}
	if i, ok := g.seen[k]; ok {
		if label != "" && !strings.Contains(g.edges[i].Label, label) {
			if g.edges[i].Label != "" {
				g.edges[i].Label += "; "
			}
			g.edges[i].Label += label
		}
		return
	}
	g.seen[k] = len(g.edges)
	g.edges = append(g.edges, gEdge{From: from, To: to, Label: label})
}

// Layout constants, in SVG user units.
const (
	nodeW, nodeH   = 210, 46
	colGap, rowGap = 150, 34
	svgPad         = 16
	chainCols      = 4  // boxes per row of a wrapped chain
	wrapGap        = 64 // vertical gap between the rows of a wrapped chain
	labelRunes     = 22
	edgeLabelRunes = 25
)

// placedNode is a node with its box.
type placedNode struct {
	gNode
	X, Y        int
	Short, SubS string
}

// placedEdge is an edge as a cubic curve with its label position.
type placedEdge struct {
	gEdge
	D      string // SVG path data
	LX, LY int
	Short  string
}

// svgGraph is a laid-out graph, ready for the "dagSVG" template.
type svgGraph struct {
	ID            string // the svg element's id
	Width, Height int
	Nodes         []placedNode
	Edges         []placedEdge
}

// layout places nodes left to right by longest path from a source (layered DAG layout); within
// a column, nodes keep insertion order. A cycle (not expected in a path) cannot loop: a node's
// layer is raised at most once per node of the graph.
func (g *dagGraph) layout(id string) *svgGraph {
	if len(g.nodes) == 0 {
		return nil
	}
	layer := make([]int, len(g.nodes))
	for range g.nodes {
		changed := false
		for _, e := range g.edges {
			f, t := g.index[e.From], g.index[e.To]
			if layer[t] < layer[f]+1 {
				layer[t] = layer[f] + 1
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	// A long chain (a path without branches) wraps into rows of chainCols boxes, read left to
	// right like text, instead of one row wider than the screen.
	if g.isChain() && len(g.nodes) > chainCols {
		for i := range layer {
			layer[i] = layer[i] % chainCols
		}
	}
	cols := map[int][]int{}
	maxCol, maxRows := 0, 0
	for i := range g.nodes {
		l := min(layer[i], len(g.nodes))
		cols[l] = append(cols[l], i)
		maxCol = max(maxCol, l)
		maxRows = max(maxRows, len(cols[l]))
	}
	gap := rowGap
	if maxRows > 1 {
		gap = wrapGap // room for the labels of the edges between rows
	}
	out := &svgGraph{ID: id,
		Width:  2*svgPad + (maxCol+1)*nodeW + maxCol*colGap,
		Height: 2*svgPad + maxRows*nodeH + (maxRows-1)*gap + 14,
	}
	pos := make([][2]int, len(g.nodes))
	colKeys := make([]int, 0, len(cols))
	for c := range cols {
		colKeys = append(colKeys, c)
	}
	sort.Ints(colKeys)
	for _, c := range colKeys {
		members := cols[c]
		// Centre short columns vertically so a branching path stays readable; a wrapped chain
		// fills its rows from the top.
		offset := 0
		if !g.isChain() {
			offset = (maxRows - len(members)) * (nodeH + gap) / 2
		}
		for row, i := range members {
			x := svgPad + c*(nodeW+colGap)
			y := svgPad + offset + row*(nodeH+gap)
			pos[i] = [2]int{x, y}
			n := g.nodes[i]
			out.Nodes = append(out.Nodes, placedNode{gNode: n, X: x, Y: y, Short: shorten(n.Name, labelRunes), SubS: shorten(n.Sub, labelRunes+4)})
		}
	}
	for _, e := range g.edges {
		f, t := pos[g.index[e.From]], pos[g.index[e.To]]
		x1, y1 := f[0]+nodeW, f[1]+nodeH/2
		x2, y2 := t[0]-2, t[1]+nodeH/2
		d := ""
		switch {
		case t[0] <= f[0] && t[1] > f[1]: // a wrapped chain: down from the end of a row to the start of the next
			x1, y1, x2, y2 = f[0]+nodeW/2, f[1]+nodeH, t[0]+nodeW/2, t[1]-2
			d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, x1, y1+wrapGap, x2, y2-wrapGap, x2, y2)
		case t[0] <= f[0]: // a back or same-column edge (cycle): route it below the boxes
			x1, x2 = f[0]+nodeW/2, t[0]+nodeW/2
			y1, y2 = f[1]+nodeH, t[1]+nodeH
		}
		mx := (x1 + x2) / 2
		if d == "" {
			d = fmt.Sprintf("M%d,%d C%d,%d %d,%d %d,%d", x1, y1, mx, y1, mx, y2, x2, y2)
		}
		pe := placedEdge{gEdge: e, D: d, LX: mx, LY: (y1+y2)/2 - 6, Short: shorten(e.Label, edgeLabelRunes)}
		out.Edges = append(out.Edges, pe)
	}
	return out
}

// isChain reports whether the graph is one path: every node has at most one edge in and one
// out, and the edges connect all the nodes.
func (g *dagGraph) isChain() bool {
	if len(g.edges) != len(g.nodes)-1 {
		return false
	}
	in, out := map[string]int{}, map[string]int{}
	for _, e := range g.edges {
		in[e.To]++
		out[e.From]++
		if in[e.To] > 1 || out[e.From] > 1 {
			return false
		}
	}
	return true
}

// shorten cuts s to n runes with an ellipsis; the full text stays in the tooltip.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// lineChart is a laid-out line chart of values in [0, 100] for the "lineSVG" template.
type lineChart struct {
	ID            string
	Width, Height int
	Points        string // the polyline's points
	Dots          []chartDot
	YTicks        []chartTick
	X0, X1, Y0    int // plot area: left, right, bottom
	YTop          int
}

type chartDot struct {
	X, Y  int
	Label string // tooltip
	Href  string
	XText string // axis label under the dot
}

type chartTick struct {
	Y    int
	Text string
}

// chartPoint is one value of the chart.
type chartPoint struct {
	Value float64
	Label string
	XText string
	Href  string
}

// newLineChart scales points (oldest first) into a fixed-size chart with a 0-100 axis.
func newLineChart(id string, pts []chartPoint) *lineChart {
	if len(pts) == 0 {
		return nil
	}
	const w, h, left, right, top, bottom = 640, 200, 40, 16, 12, 28
	c := &lineChart{ID: id, Width: w, Height: h, X0: left, X1: w - right, Y0: h - bottom, YTop: top}
	plotW, plotH := float64(w-left-right), float64(h-top-bottom)
	var sb strings.Builder
	for i, p := range pts {
		x := left + int(plotW/2)
		if len(pts) > 1 {
			x = left + int(float64(i)*plotW/float64(len(pts)-1))
		}
		v := min(max(p.Value, 0), 100)
		y := top + int(plotH-v/100*plotH)
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%d,%d", x, y)
		c.Dots = append(c.Dots, chartDot{X: x, Y: y, Label: p.Label, Href: p.Href, XText: p.XText})
	}
	c.Points = sb.String()
	for _, v := range []int{0, 50, 100} {
		c.YTicks = append(c.YTicks, chartTick{Y: top + int(plotH-float64(v)/100*plotH), Text: fmt.Sprint(v)})
	}
	return c
}
