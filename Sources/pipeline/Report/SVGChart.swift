import Foundation
import Score

/// Hand-written SVG charts (no dependencies) that any browser opens: grouped bars and lines with markers.
/// Values are shown as given (the callers pass scores x 100); axes include 0 and handle negative values.
enum SVGChart {
    struct Series {
        let name: String
        /// One value per group (bars) or per x position (lines); nil = not scored.
        let values: [Double?]
    }

    /// Colour-blind-safe palette (Okabe-Ito).
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442"]

    static let width = 760.0, height = 420.0
    static let left = 64.0, right = 20.0, top = 48.0, bottom = 96.0

    /// Bars: one cluster per group, one bar per series.
    static func bars(title: String, yLabel: String, groups: [String], series: [Series]) -> String {
        let values = series.flatMap(\.values).compactMap { $0 }
        let axis = Axis(values: values)
        var svg = header(title: title)
        svg += yAxis(axis, label: yLabel)
        let plotWidth = width - left - right
        let groupWidth = plotWidth / Double(max(groups.count, 1))
        let barWidth = groupWidth * 0.8 / Double(max(series.count, 1))
        for (g, group) in groups.enumerated() {
            let x0 = left + Double(g) * groupWidth + groupWidth * 0.1
            for (s, item) in series.enumerated() {
                guard g < item.values.count, let value = item.values[g] else { continue }
                let x = x0 + Double(s) * barWidth
                let y1 = axis.y(value), y0 = axis.y(0)
                svg += "<rect x=\"\(f(x))\" y=\"\(f(min(y0, y1)))\" width=\"\(f(barWidth * 0.92))\" height=\"\(f(abs(y1 - y0)))\" "
                    + "fill=\"\(palette[s % palette.count])\"><title>\(escape(item.name)) · \(escape(group)): \(String(format: "%.2f", value))</title></rect>\n"
            }
            svg += "<text x=\"\(f(x0 + groupWidth * 0.4))\" y=\"\(f(height - bottom + 18))\" text-anchor=\"middle\">\(escape(group))</text>\n"
        }
        svg += legend(series.map(\.name), markers: false)
        return svg + "</svg>\n"
    }

    /// Lines: y against numeric x, one line per series, with a marker at every scored point.
    static func lines(title: String, xLabel: String, yLabel: String, x: [Double], series: [Series]) -> String {
        let axis = Axis(values: series.flatMap(\.values).compactMap { $0 })
        let xMin = x.min() ?? 0, xMax = x.max() ?? 1
        let span = xMax > xMin ? xMax - xMin : 1
        func xPos(_ value: Double) -> Double { left + (value - xMin) / span * (width - left - right) }
        var svg = header(title: title)
        svg += yAxis(axis, label: yLabel)
        for value in x {
            svg += "<line x1=\"\(f(xPos(value)))\" x2=\"\(f(xPos(value)))\" y1=\"\(f(height - bottom))\" y2=\"\(f(height - bottom + 5))\" stroke=\"#333\"/>\n"
            svg += "<text x=\"\(f(xPos(value)))\" y=\"\(f(height - bottom + 18))\" text-anchor=\"middle\">\(Recipe.format(value))</text>\n"
        }
        svg += "<text x=\"\(f(left + (width - left - right) / 2))\" y=\"\(f(height - bottom + 38))\" text-anchor=\"middle\">\(escape(xLabel))</text>\n"
        for (s, item) in series.enumerated() {
            let color = palette[s % palette.count]
            let points = zip(x, item.values).compactMap { pair in pair.1.map { (xPos(pair.0), axis.y($0), $0) } }
            if points.count > 1 {
                svg += "<polyline fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\""
                    + points.map { "\(f($0.0)),\(f($0.1))" }.joined(separator: " ") + "\"/>\n"
            }
            for point in points {
                svg += "<circle cx=\"\(f(point.0))\" cy=\"\(f(point.1))\" r=\"3.5\" fill=\"\(color)\"><title>\(escape(item.name)): \(String(format: "%.2f", point.2))</title></circle>\n"
            }
        }
        svg += legend(series.map(\.name), markers: true)
        return svg + "</svg>\n"
    }

    // MARK: Parts

    /// A y axis from "nice" ticks covering the values and 0.
    struct Axis {
        let low: Double, high: Double, step: Double

        init(values: [Double]) {
            let low = min(0, values.min() ?? 0), high = max(values.max() ?? 1, low + 1e-9)
            let raw = (high - low) / 5
            let magnitude = pow(10, floor(log10(raw)))
            let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
            self.step = step
            self.low = floor(low / step) * step
            self.high = max(ceil(high / step) * step, self.low + step)
        }

        func y(_ value: Double) -> Double {
            SVGChart.top + (high - value) / (high - low) * (SVGChart.height - SVGChart.top - SVGChart.bottom)
        }

        var ticks: [Double] {
            stride(from: low, through: high + step / 2, by: step).map { $0 }
        }
    }

    private static func header(title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(f(width))\" height=\"\(f(height))\" viewBox=\"0 0 \(f(width)) \(f(height))\" "
            + "font-family=\"Helvetica, Arial, sans-serif\" font-size=\"12\">\n"
            + "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
            + "<text x=\"\(f(width / 2))\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">\(escape(title))</text>\n"
    }

    private static func yAxis(_ axis: Axis, label: String) -> String {
        var svg = ""
        for tick in axis.ticks {
            let y = axis.y(tick)
            svg += "<line x1=\"\(f(left))\" x2=\"\(f(width - right))\" y1=\"\(f(y))\" y2=\"\(f(y))\" stroke=\"\(tick == 0 ? "#333" : "#ddd")\"/>\n"
            svg += "<text x=\"\(f(left - 6))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(Recipe.format((tick * 1000).rounded() / 1000))</text>\n"
        }
        svg += "<text transform=\"translate(16 \(f(top + (height - top - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escape(label))</text>\n"
        return svg
    }

    private static func legend(_ names: [String], markers: Bool) -> String {
        var svg = ""
        let columns = 3
        for (i, name) in names.enumerated() {
            let x = left + Double(i % columns) * (width - left - right) / Double(columns)
            let y = height - bottom + 54 + Double(i / columns) * 16
            let color = palette[i % palette.count]
            svg += markers
                ? "<circle cx=\"\(f(x + 6))\" cy=\"\(f(y - 4))\" r=\"4\" fill=\"\(color)\"/>\n"
                : "<rect x=\"\(f(x))\" y=\"\(f(y - 10))\" width=\"12\" height=\"12\" fill=\"\(color)\"/>\n"
            svg += "<text x=\"\(f(x + 18))\" y=\"\(f(y))\">\(escape(name))</text>\n"
        }
        return svg
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }
}
