//! The burn-down's geometry: for one pool or the whole fleet, where each run's point of each series
//! (blocked, to review, waived, legacy SRs) goes in an SVG of a given size, the time axis from the
//! first run to the target date, and the dashed line of the pace needed to reach zero by it. Only
//! numbers and labels leave here; trend.html's template draws them (names escaped there).

use super::{PoolCounts, Run};
use serde::Serialize;

/// One plotted series.
#[derive(Debug, Clone, Serialize)]
pub struct Series {
    pub name: &'static str,
    pub color: &'static str,
    /// `x,y x,y ...` for a `<polyline>`.
    pub points: String,
    pub dots: Vec<Dot>,
}

/// One run's value of a series.
#[derive(Debug, Clone, Serialize)]
pub struct Dot {
    pub x: i64,
    pub y: i64,
    pub value: usize,
    pub date: String,
    /// Drawn hollow: the run was incomplete or read other inputs.
    pub marked: bool,
}

/// A labelled tick.
#[derive(Debug, Clone, Serialize)]
pub struct Tick {
    pub at: i64,
    pub label: String,
}

/// A straight line (the target date, the pace needed).
#[derive(Debug, Clone, Serialize)]
pub struct Line {
    pub x1: i64,
    pub y1: i64,
    pub x2: i64,
    pub y2: i64,
}

/// Everything the template needs to draw one chart.
#[derive(Debug, Clone, Serialize)]
pub struct Chart {
    pub title: String,
    pub width: i64,
    pub height: i64,
    pub left: i64,
    pub top: i64,
    pub right: i64,
    pub bottom: i64,
    pub y_ticks: Vec<Tick>,
    pub x_ticks: Vec<Tick>,
    pub series: Vec<Series>,
    pub target: Option<Line>,
    pub pace: Option<Line>,
}

/// A size in pixels.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub width: i64,
    pub height: i64,
}

/// The day (UTC) of a run, `YYYY-MM-DD`.
pub fn day_of(run: &Run) -> String {
    jiff::Timestamp::from_second(run.epoch_seconds)
        .map(|t| t.to_string()[..10].to_string())
        .unwrap_or_default()
}

/// A y-axis step that reads well (1, 2, 5 times a power of ten) giving at most five ticks above 0,
/// and the axis maximum: the smallest multiple of the step at least `max`.
fn y_axis(max: usize) -> (usize, usize) {
    let mut step = 1;
    loop {
        for m in [1, 2, 5] {
            if max.div_ceil(m * step) <= 5 {
                let step = m * step;
                return (step, max.div_ceil(step).max(1) * step);
            }
        }
        step *= 10;
    }
}

/// The labels of the time axis, dropping those that would overlap the one before.
fn x_ticks(at: impl Iterator<Item = (i64, String)>) -> Vec<Tick> {
    const MIN_GAP: i64 = 40;
    let mut ticks: Vec<Tick> = Vec::new();
    for (at, label) in at {
        if ticks.last().is_none_or(|t| at - t.at >= MIN_GAP) {
            ticks.push(Tick { at, label });
        }
    }
    ticks
}

/// Values of one pool (or the totals) per run: `None` where the run did not audit it.
pub type Points<'a> = Vec<(&'a Run, Option<PoolCounts>)>;

/// Lay out one chart. `target` is the target date as seconds since the epoch; `pace_from` the
/// blocked count the pace line starts from at the latest run.
pub fn layout(
    title: String,
    points: &Points,
    size: Size,
    target: Option<i64>,
    pace_from: Option<usize>,
    marked: &dyn Fn(&Run) -> bool,
) -> Chart {
    let (left, top, right, bottom) = (44, 12, size.width - 16, size.height - 34);
    let t0 = points.first().map_or(0, |(r, _)| r.epoch_seconds);
    let last = points.last().map_or(0, |(r, _)| r.epoch_seconds);
    let t1 = target.map_or(last, |t| t.max(last)).max(t0 + 1);
    let x = |t: i64| left + (t - t0) * (right - left) / (t1 - t0);
    let max = points
        .iter()
        .filter_map(|(_, c)| c.as_ref())
        .map(|c| c.blocked.max(c.review).max(c.waived).max(c.legacy_srs))
        .max()
        .unwrap_or(0);
    let (y_step, y_max) = y_axis(max);
    let y_max = y_max as i64;
    let y = |v: usize| bottom - v as i64 * (bottom - top) / y_max;
    let series = SERIES
        .iter()
        .map(|(name, color, value)| series(name, color, *value, points, &x, &y, marked))
        .collect();
    let target_line = target.map(|t| Line {
        x1: x(t),
        y1: top,
        x2: x(t),
        y2: bottom,
    });
    let pace = match (target, pace_from) {
        (Some(t), Some(n)) if t > last => Some(Line {
            x1: x(last),
            y1: y(n),
            x2: x(t),
            y2: y(0),
        }),
        _ => None,
    };
    Chart {
        title,
        width: size.width,
        height: size.height,
        left,
        top,
        right,
        bottom,
        y_ticks: (0..=y_max as usize)
            .step_by(y_step)
            .map(|v| Tick {
                at: y(v),
                label: v.to_string(),
            })
            .collect(),
        x_ticks: x_ticks(
            points
                .iter()
                .map(|(run, _)| (x(run.epoch_seconds), day_of(run)[5..].to_string())),
        ),
        series,
        target: target_line,
        pace,
    }
}

type Value = fn(&PoolCounts) -> usize;

/// One series' points, where the run audited the pool.
fn series(
    name: &'static str,
    color: &'static str,
    value: Value,
    points: &Points,
    x: &dyn Fn(i64) -> i64,
    y: &dyn Fn(usize) -> i64,
    marked: &dyn Fn(&Run) -> bool,
) -> Series {
    let dots: Vec<Dot> = points
        .iter()
        .filter_map(|(run, c)| {
            c.as_ref().map(|c| Dot {
                x: x(run.epoch_seconds),
                y: y(value(c)),
                value: value(c),
                date: day_of(run),
                marked: marked(run),
            })
        })
        .collect();
    let points = dots
        .iter()
        .map(|d| format!("{},{}", d.x, d.y))
        .collect::<Vec<_>>()
        .join(" ");
    Series {
        name,
        color,
        points,
        dots,
    }
}

/// The series every chart draws, in legend order.
pub const SERIES: [(&str, &str, Value); 4] = [
    ("blocked", "#b3261e", |c| c.blocked),
    ("to review", "#b26a00", |c| c.review),
    ("waived", "#5f6368", |c| c.waived),
    ("legacy SRs", "#6a1b9a", |c| c.legacy_srs),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn y_axes_read_well() {
        // max -> (step, axis maximum)
        for (max, want) in [
            (0, (1, 1)),
            (1, (1, 1)),
            (3, (1, 3)),
            (7, (2, 8)),
            (11, (5, 15)),
            (26, (10, 30)),
            (51, (20, 60)),
            (100, (20, 100)),
            (1234, (500, 1500)),
        ] {
            assert_eq!(y_axis(max), want, "{max}");
        }
    }

    #[test]
    fn time_labels_do_not_overlap() {
        let at = [(0, "a"), (10, "b"), (45, "c"), (60, "d"), (200, "e")];
        let shown: Vec<String> = x_ticks(at.iter().map(|(x, l)| (*x, l.to_string())))
            .into_iter()
            .map(|t| t.label)
            .collect();
        assert_eq!(shown, ["a", "c", "e"]);
    }

    fn run(day: i64, blocked: usize) -> (Run, PoolCounts) {
        let c = PoolCounts {
            blocked,
            ..Default::default()
        };
        let r = Run {
            path: "r".into(),
            started_at: String::new(),
            epoch_seconds: day * 86_400,
            complete: true,
            inputs: String::new(),
            pools: vec![c.clone()],
        };
        (r, c)
    }

    #[test]
    fn points_fall_as_blocked_falls_and_the_pace_reaches_zero_at_the_target() {
        let (r0, c0) = run(0, 10);
        let (r1, c1) = run(7, 5);
        let points: Points = vec![(&r0, Some(c0)), (&r1, Some(c1))];
        let size = Size {
            width: 400,
            height: 200,
        };
        let c = layout(
            "t".into(),
            &points,
            size,
            Some(14 * 86_400),
            Some(5),
            &|_| false,
        );
        let blocked = &c.series[0].dots;
        assert!(
            blocked[0].y < blocked[1].y,
            "higher value, higher on the page"
        );
        assert_eq!(blocked[0].x, c.left);
        let pace = c.pace.unwrap();
        assert_eq!((pace.x1, pace.y1), (blocked[1].x, blocked[1].y));
        assert_eq!((pace.x2, pace.y2), (c.right, c.bottom));
        assert_eq!(c.target.unwrap().x1, c.right);
        assert_eq!(c.x_ticks[1].label, "01-08");
    }
}
