//! Charts as inline SVG, drawn here: a time axis, a value axis with its unit, one polyline and
//! one marker per point for each series. Colours come from CSS classes, so the page's light and
//! dark themes apply; the chart's `<title>` and `<desc>` are its text alternative.

use std::fmt::Write as _;

use super::html::esc;

/// One line of a chart: its name in the legend, its CSS class, and its points (unix seconds,
/// value).
pub(crate) struct Series<'a> {
    pub name: &'a str,
    pub class: &'a str,
    pub points: Vec<(u64, f64)>,
}

const W: f64 = 640.0;
const H: f64 = 220.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// A line chart. `id` must be unique on the page; `unit` labels the value axis (`ms`, `%`,
/// `s`); `desc` is the text alternative a screen reader reads.
pub(crate) fn line_chart(
    id: &str,
    title: &str,
    desc: &str,
    unit: &str,
    series: &[Series<'_>],
) -> String {
    let all: Vec<(u64, f64)> = series
        .iter()
        .flat_map(|s| s.points.iter().copied())
        .collect();
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg class="chart" id="{id}" viewBox="0 0 {W} {H}" role="img" aria-labelledby="{id}-t {id}-d" preserveAspectRatio="xMidYMid meet"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
    if all.is_empty() {
        let _ = write!(
            out,
            r#"<text class="axis-label" x="{}" y="{}" text-anchor="middle">no data yet</text></svg>"#,
            W / 2.0,
            H / 2.0
        );
        return out;
    }
    let t0 = all.iter().map(|p| p.0).min().unwrap_or(0);
    let t1 = all.iter().map(|p| p.0).max().unwrap_or(0).max(t0 + 1);
    let vmax = nice_max(all.iter().map(|p| p.1).fold(0.0, f64::max));
    let x = |t: u64| LEFT + (t - t0) as f64 / (t1 - t0) as f64 * (W - LEFT - RIGHT);
    let y = |v: f64| TOP + (1.0 - v / vmax) * (H - TOP - BOTTOM);
    // Value axis: five gridlines with their labels.
    for i in 0..=4 {
        let v = vmax * f64::from(i) / 4.0;
        let yy = y(v);
        let _ = write!(
            out,
            r#"<line class="grid" x1="{LEFT}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="axis-label" x="{}" y="{:.1}" text-anchor="end">{} {unit}</text>"#,
            W - RIGHT,
            LEFT - 6.0,
            yy + 4.0,
            tick(v)
        );
    }
    // Time axis: the first, middle and last times.
    for (i, t) in [t0, t0 + (t1 - t0) / 2, t1].into_iter().enumerate() {
        let anchor = ["start", "middle", "end"][i];
        let _ = write!(
            out,
            r#"<text class="axis-label" x="{:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
            x(t),
            H - 12.0,
            short_time(t)
        );
    }
    let _ = write!(
        out,
        r#"<line class="axis" x1="{LEFT}" x2="{}" y1="{}" y2="{}"/>"#,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM
    );
    for s in series {
        if s.points.is_empty() {
            continue;
        }
        let pts: Vec<String> = s
            .points
            .iter()
            .map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
            .collect();
        let _ = write!(
            out,
            r#"<g class="series {}"><polyline points="{}"/>"#,
            s.class,
            pts.join(" ")
        );
        for &(t, v) in &s.points {
            let _ = write!(
                out,
                r#"<circle class="point" cx="{:.1}" cy="{:.1}" r="2.5"><title>{} {}: {} {unit}</title></circle>"#,
                x(t),
                y(v),
                esc(s.name),
                short_time(t),
                tick(v)
            );
        }
        out.push_str("</g>");
    }
    out.push_str("</svg>");
    out
}

/// The legend of a chart's series, as HTML.
pub(crate) fn legend(series: &[Series<'_>]) -> String {
    let mut out = String::from(r#"<ul class="legend">"#);
    for s in series {
        let _ = write!(
            out,
            r#"<li><span class="swatch {}"></span>{}</li>"#,
            s.class,
            esc(s.name)
        );
    }
    out.push_str("</ul>");
    out
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above `v` (and at least 1).
fn nice_max(v: f64) -> f64 {
    if v <= 1.0 {
        return 1.0;
    }
    let mag = 10f64.powf(v.log10().floor());
    for m in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if m * mag >= v {
            return m * mag;
        }
    }
    10.0 * mag
}

fn tick(v: f64) -> String {
    if v >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

/// `12-01 10:23` (UTC) for an axis label.
fn short_time(t: u64) -> String {
    let text = crate::timefmt::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t));
    format!("{} {}", &text[5..10], &text[11..16])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_has_one_marker_per_point_axes_with_units_and_a_text_alternative() {
        let s = [
            Series {
                name: "p50",
                class: "p50",
                points: vec![(1_000, 10.0), (2_000, 12.0), (3_000, 11.0)],
            },
            Series {
                name: "p95",
                class: "p95",
                points: vec![(1_000, 30.0), (2_000, 80.0), (3_000, 40.0)],
            },
        ];
        let svg = line_chart("c1", "web latency", "p50 and p95 over 3 samples", "ms", &s);
        assert_eq!(svg.matches("<circle").count(), 6);
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert!(
            svg.contains("100 ms"),
            "the axis reaches a round 100 ms: {svg}"
        );
        assert!(svg.contains(r#"role="img""#) && svg.contains("<title id=\"c1-t\">web latency"));
        assert!(svg.contains("<desc id=\"c1-d\">p50 and p95 over 3 samples</desc>"));
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = line_chart("c2", "t", "d", "ms", &[]);
        assert!(svg.contains("no data yet") && !svg.contains("<circle"));
    }

    #[test]
    fn nice_maxima() {
        assert!((nice_max(0.3) - 1.0).abs() < 1e-9);
        assert!((nice_max(7.0) - 10.0).abs() < 1e-9);
        assert!((nice_max(120.0) - 200.0).abs() < 1e-9);
        assert!((nice_max(2400.0) - 2500.0).abs() < 1e-9);
    }
}
