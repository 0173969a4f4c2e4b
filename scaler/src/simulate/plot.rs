//! Draws the simulator's timeline as an SVG with two panels sharing the time axis:
//! demand and each policy's ready capacity (requests/s) on top, instances below.
//!
//! Uses plotters' SVG backend without font rendering (text is left to the viewer), so
//! no system fonts are needed.

use std::path::Path;

use plotters::prelude::*;

use crate::error::ScalerError;
use crate::simulate::{SimulationReport, TimelinePoint};
use crate::time::Timestamp;

const POLICY_COLORS: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// Picks a time unit that keeps the axis numbers readable.
fn time_unit(span_s: f64) -> (f64, &'static str) {
    if span_s > 3.0 * 86_400.0 {
        (86_400.0, "days")
    } else if span_s > 3.0 * 3_600.0 {
        (3_600.0, "hours")
    } else {
        (60.0, "minutes")
    }
}

/// Whole numbers without decimals, others with one.
fn axis_label(value: &f64) -> String {
    if value.fract().abs() < 1e-9 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

/// Writes the two-panel timeline of `reports` to `path`.
pub(crate) fn draw(
    path: &Path,
    start: Timestamp,
    reports: &[SimulationReport],
) -> Result<(), ScalerError> {
    let fail = |e: &dyn std::fmt::Display| ScalerError::Plot {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let points = || reports.iter().flat_map(|r| r.timeline.iter());
    let span_s = points().map(|p| p.time_s).fold(0.0, f64::max).max(1.0);
    let (unit_s, unit) = time_unit(span_s);
    let x_max = span_s / unit_s;
    let rps_max = points()
        .map(|p| p.demand_rps.max(p.ready_capacity_rps))
        .fold(1.0, f64::max)
        * 1.05;
    let instances_max = points().map(|p| p.instances).fold(1.0, f64::max) * 1.1;
    let x_desc = format!("{unit} since {start}");

    let root = SVGBackend::new(path, (1400, 860)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let (top, bottom) = root.split_vertically(480);

    let mut chart = ChartBuilder::on(&top)
        .caption("Demand and ready capacity", ("sans-serif", 24))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_max, 0.0..rps_max)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc(x_desc.as_str())
        .y_desc("requests / s")
        .x_label_formatter(&axis_label)
        .y_label_formatter(&axis_label)
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| fail(&e))?;
    // Capacity first, demand last: the demand line stays visible on top.
    for (i, report) in reports.iter().enumerate() {
        let color = POLICY_COLORS[i % POLICY_COLORS.len()];
        let series = report
            .timeline
            .iter()
            .map(|p| (p.time_s / unit_s, p.ready_capacity_rps));
        chart
            .draw_series(LineSeries::new(series, color.stroke_width(1)))
            .map_err(|e| fail(&e))?
            .label(format!("ready capacity, {}", report.summary.policy))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
    }
    if let Some(first) = reports.first() {
        let demand = first
            .timeline
            .iter()
            .map(|p| (p.time_s / unit_s, p.demand_rps));
        chart
            .draw_series(LineSeries::new(demand, BLACK.stroke_width(2)))
            .map_err(|e| fail(&e))?
            .label("demand")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], BLACK.stroke_width(2)));
    }
    legend(&mut chart).map_err(|e| fail(&e))?;

    let mut chart = ChartBuilder::on(&bottom)
        .caption("Instances (pending included)", ("sans-serif", 24))
        .margin(14)
        .x_label_area_size(44)
        .y_label_area_size(80)
        .build_cartesian_2d(0.0..x_max, 0.0..instances_max)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc(x_desc.as_str())
        .y_desc("instances")
        .x_label_formatter(&axis_label)
        .y_label_formatter(&axis_label)
        .label_style(("sans-serif", 15))
        .draw()
        .map_err(|e| fail(&e))?;
    for (i, report) in reports.iter().enumerate() {
        let color = POLICY_COLORS[i % POLICY_COLORS.len()];
        let series = report
            .timeline
            .iter()
            .map(|p: &TimelinePoint| (p.time_s / unit_s, p.instances));
        chart
            .draw_series(LineSeries::new(series, color.stroke_width(1)))
            .map_err(|e| fail(&e))?
            .label(format!("instances, {}", report.summary.policy))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
            });
    }
    legend(&mut chart).map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))
}

type Chart<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

fn legend<'a, 'b: 'a>(
    chart: &mut Chart<'a, 'b>,
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 15))
        .draw()
}
