package review

// Chart geometry, in SVG user units: the SVG scales to its box.
const (
	chartHeight = 220
	labelSpace  = 24
	barWidth    = 18
	barGap      = 4
	groupGap    = 16
	plotTop     = 8
)

func groupWidth(c BarChart) int { return len(c.Series)*(barWidth+barGap) - barGap }

func groupX(c BarChart, i int) int { return groupGap/2 + i*(groupWidth(c)+groupGap) }

func chartWidth(c BarChart) int { return max(1, len(c.Labels))*(groupWidth(c)+groupGap) + groupGap/2 }

func barX(c BarChart, i, j int) int { return groupX(c, i) + j*(barWidth+barGap) }

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
