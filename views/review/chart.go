package review

import "unicode/utf8"

// Chart geometry, in SVG user units: the SVG scales to its box.
const (
	chartHeight = 220
	labelSpace  = 24
	barWidth    = 18
	barGap      = 4
	groupGap    = 16
	plotTop     = 8
)

// barsWidth is the width of one label's bars side by side.
func barsWidth(c BarChart) int { return len(c.Series)*(barWidth+barGap) - barGap }

// groupWidth is one label's room: its bars, or its label's text when
// that is wider (product and status names), so that labels never
// overlap.
func groupWidth(c BarChart) int {
	w := barsWidth(c)
	for _, l := range c.Labels {
		w = max(w, utf8.RuneCountInString(l)*labelCharWidth+4)
	}
	return w
}

// labelCharWidth is an average character's width at the labels' 9px.
const labelCharWidth = 6

func groupX(c BarChart, i int) int { return groupGap/2 + i*(groupWidth(c)+groupGap) }

func chartWidth(c BarChart) int { return max(1, len(c.Labels))*(groupWidth(c)+groupGap) + groupGap/2 }

func barX(c BarChart, i, j int) int {
	return groupX(c, i) + (groupWidth(c)-barsWidth(c))/2 + j*(barWidth+barGap)
}

// barHeight scales v to the plot; a non-zero value stays visible.
func barHeight(c BarChart, v int64) int {
	plot := chartHeight - labelSpace - plotTop
	if c.Max <= 0 || v <= 0 {
		return 0
	}
	return max(2, int(int64(plot)*v/c.Max))
}

func barY(c BarChart, v int64) int { return chartHeight - labelSpace - barHeight(c, v) }

func barURL(s Series, i int) string {
	if i < len(s.URLs) {
		return s.URLs[i]
	}
	return ""
}

func ariaCurrent(on bool) string {
	if on {
		return "page"
	}
	return "false"
}
