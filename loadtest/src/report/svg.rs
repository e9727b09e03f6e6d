//! Inline SVG charts for the HTML report, drawn by hand (no libraries, no scripts): line
//! charts with linear axes and chosen x ticks, and bar charts. All text is XML-escaped.

use std::fmt::Write;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 44.0;
/// Baseline of the legend row, between the title and the plot.
const LEGEND_Y: f64 = 34.0;
const BOTTOM: f64 = 45.0;

/// One line of a line chart.
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub dashed: bool,
    pub points: Vec<(f64, f64)>,
}

pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub series: Vec<Series>,
    /// Fixed x ticks (value, label); `None` picks round numbers.
    pub x_ticks: Option<Vec<(f64, String)>>,
}

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A round step that cuts `0..=max` into about five parts.
pub fn nice_step(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let rough = max / 5.0;
    let magnitude = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= rough);
    step.unwrap_or(10.0 * magnitude)
}

fn ticks(max: f64) -> Vec<(f64, String)> {
    let step = nice_step(max);
    let count = (max / step).ceil().max(1.0) as usize;
    (0..=count)
        .map(|i| {
            let v = step * i as f64;
            (v, tick_label(v))
        })
        .collect()
}

/// A tick value with as few decimals as it needs (at most four): 2.5, 10, 0.25.
fn tick_label(v: f64) -> String {
    let text = format!("{v:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

fn frame(out: &mut String, title: &str, x_label: &str, y_label: &str) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{t}">"#,
        t = escape(title)
    );
    let _ = write!(out, r#"<text x="{LEFT}" y="18" class="title">{}</text>"#, escape(title));
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" class="axis">{}</text>"#,
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 6.0,
        escape(x_label)
    );
    let _ = write!(
        out,
        r#"<text transform="translate(14,{}) rotate(-90)" text-anchor="middle" class="axis">{}</text>"#,
        TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
        escape(y_label)
    );
}

/// Draws the grid, tick labels and plot frame for data scaled to `0..=x_max`, `0..=y_max`.
fn axes(out: &mut String, x_ticks: &[(f64, String)], y_ticks: &[(f64, String)], x_max: f64, y_max: f64) {
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    for (v, label) in y_ticks {
        let y = TOP + h - v / y_max * h;
        let _ = write!(out, r#"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" class="grid"/>"#, LEFT + w);
        let _ = write!(
            out,
            r#"<text x="{}" y="{:.1}" text-anchor="end" class="tick">{}</text>"#,
            LEFT - 6.0,
            y + 4.0,
            escape(label)
        );
    }
    for (v, label) in x_ticks {
        let x = LEFT + v / x_max * w;
        let _ = write!(out, r#"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" class="grid"/>"#, TOP, TOP + h);
        let _ = write!(
            out,
            r#"<text x="{x:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
            TOP + h + 16.0,
            escape(label)
        );
    }
    let _ = write!(out, r#"<rect x="{LEFT}" y="{TOP}" width="{w}" height="{h}" class="plot"/>"#);
}

fn legend(out: &mut String, entries: &[(&str, &'static str, bool)]) {
    let mut x = WIDTH - RIGHT;
    let ly = LEGEND_Y - 4.0;
    for (name, color, dashed) in entries.iter().rev() {
        let width = 30.0 + 7.0 * name.chars().count() as f64;
        x -= width;
        if x < 0.0 {
            // No room left on the legend row; the lines still show.
            break;
        }
        let dash = if *dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = write!(
            out,
            r#"<line x1="{x:.1}" y1="{ly:.1}" x2="{:.1}" y2="{ly:.1}" stroke="{color}" stroke-width="2"{dash}/><text x="{:.1}" y="{LEGEND_Y}" class="tick">{}</text>"#,
            x + 20.0,
            x + 24.0,
            escape(name)
        );
    }
}

pub fn line_chart(c: &LineChart) -> String {
    let mut out = String::new();
    frame(&mut out, &c.title, &c.x_label, &c.y_label);
    let points = c.series.iter().flat_map(|s| s.points.iter());
    let (x_data, y_data) = points.fold((0f64, 0f64), |(x, y), p| (x.max(p.0), y.max(p.1)));
    let x_ticks = c.x_ticks.clone().unwrap_or_else(|| ticks(x_data));
    let y_ticks = ticks(y_data);
    let x_max = x_ticks.iter().map(|t| t.0).fold(x_data, f64::max).max(1e-9);
    let y_max = y_ticks.iter().map(|t| t.0).fold(y_data, f64::max).max(1e-9);
    axes(&mut out, &x_ticks, &y_ticks, x_max, y_max);
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    for s in &c.series {
        if s.points.is_empty() {
            continue;
        }
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", LEFT + x / x_max * w, TOP + h - y / y_max * h))
            .collect();
        let dash = if s.dashed { r#" stroke-dasharray="6 4""# } else { "" };
        let _ = write!(
            out,
            r#"<polyline fill="none" stroke="{}" stroke-width="2"{dash} points="{}"/>"#,
            s.color,
            path.join(" ")
        );
    }
    let entries: Vec<(&str, &'static str, bool)> =
        c.series.iter().map(|s| (s.name.as_str(), s.color, s.dashed)).collect();
    legend(&mut out, &entries);
    out.push_str("</svg>");
    out
}

/// One bar: its label (shown under some bars) and height.
pub struct Bar {
    pub label: String,
    pub value: f64,
}

pub fn bar_chart(title: &str, x_label: &str, y_label: &str, bars: &[Bar], color: &'static str) -> String {
    let mut out = String::new();
    frame(&mut out, title, x_label, y_label);
    let y_data = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    let y_ticks = ticks(y_data);
    let y_max = y_ticks.iter().map(|t| t.0).fold(y_data, f64::max).max(1e-9);
    axes(&mut out, &[], &y_ticks, 1.0, y_max);
    let (w, h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let slot = w / bars.len().max(1) as f64;
    let label_every = (bars.len() / 10).max(1);
    for (i, b) in bars.iter().enumerate() {
        let x = LEFT + slot * i as f64;
        let bh = b.value / y_max * h;
        let _ = write!(
            out,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{color}"><title>{}: {}</title></rect>"#,
            x + 1.0,
            TOP + h - bh,
            (slot - 2.0).max(1.0),
            escape(&b.label),
            b.value
        );
        if i % label_every == 0 {
            let _ = write!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle" class="tick">{}</text>"#,
                x + slot / 2.0,
                TOP + h + 16.0,
                escape(&b.label)
            );
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(10.0), 2.0);
        assert_eq!(nice_step(1000.0), 200.0);
        assert_eq!(nice_step(0.9), 0.2);
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(ticks(9.0).last().map(|t| t.0), Some(10.0));
        let labels: Vec<String> = ticks(12.0).into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["0", "2.5", "5", "7.5", "10", "12.5"]);
        assert_eq!(tick_label(0.25), "0.25");
        assert_eq!(tick_label(50000.0), "50000");
    }

    #[test]
    fn charts_are_closed_svg_with_escaped_text() {
        let c = LineChart {
            title: "a < b & c".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            series: vec![Series {
                name: "s".into(),
                color: "#123456",
                dashed: true,
                points: vec![(0.0, 1.0), (1.0, 2.0)],
            }],
            x_ticks: None,
        };
        let svg = line_chart(&c);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("a &lt; b &amp; c"));
        assert!(svg.contains("<polyline"));
        let bars = bar_chart("t", "x", "y", &[Bar { label: "1ms".into(), value: 3.0 }], "#000");
        assert!(bars.contains("<rect") && bars.ends_with("</svg>"));
    }
}
