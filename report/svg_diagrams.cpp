#include "report/svg_diagrams.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "report/text_escape.h"

namespace authscope {

namespace {

constexpr int kLaneWidth = 230;
constexpr int kMarginX = 40;
constexpr int kHeaderHeight = 44;
constexpr int kStepHeight = 38;

std::string truncate_label(const std::string& s, size_t max_chars) {
  if (s.size() <= max_chars) return s;
  // Cut on a UTF-8 boundary so the ellipsis never splits a character.
  size_t cut = max_chars;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  return s.substr(0, cut) + "\xE2\x80\xA6";
}

}  // namespace

std::string sequence_diagram_svg(const ExchangeDiagram& ex) {
  const int lanes = std::max<int>(1, static_cast<int>(ex.participants.size()));
  const int width = kMarginX * 2 + (lanes - 1) * kLaneWidth + 120;
  const int height = kHeaderHeight + static_cast<int>(ex.steps.size()) * kStepHeight + 30;
  auto lane_x = [&](int i) { return kMarginX + 60 + std::clamp(i, 0, lanes - 1) * kLaneWidth; };

  std::ostringstream s;
  s << "<svg class=\"seq\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << ' ' << height << "\" role=\"img\" aria-label=\""
    << html_escape(ex.title) << "\">\n";
  s << "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
       "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#334155\"/>"
       "</marker><marker id=\"arrow-err\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" "
       "markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#b91c1c\"/>"
       "</marker></defs>\n";
  for (int i = 0; i < lanes; ++i) {
    const int x = lane_x(i);
    const std::string name = i < static_cast<int>(ex.participants.size()) ? ex.participants[i] : "?";
    s << "<rect x=\"" << x - 100 << "\" y=\"6\" width=\"200\" height=\"26\" rx=\"5\" class=\"lane-head\"/>";
    s << "<text x=\"" << x << "\" y=\"24\" text-anchor=\"middle\" class=\"lane-name\">"
      << html_escape(truncate_label(name, 30)) << "</text>\n";
    s << "<line x1=\"" << x << "\" y1=\"32\" x2=\"" << x << "\" y2=\"" << height - 8
      << "\" class=\"lifeline\"/>\n";
  }
  int y = kHeaderHeight + 14;
  for (const auto& step : ex.steps) {
    const int x1 = lane_x(step.from), x2 = lane_x(step.to);
    const char* cls = step.is_error ? "msg err" : "msg";
    const char* marker = step.is_error ? "url(#arrow-err)" : "url(#arrow)";
    if (x1 == x2) {  // a self message: a small loop
      s << "<path d=\"M" << x1 << ',' << y - 6 << " h30 v12 h-30\" class=\"" << cls << "\" fill=\"none\" marker-end=\""
        << marker << "\"/>";
    } else {
      s << "<line x1=\"" << x1 << "\" y1=\"" << y << "\" x2=\"" << x2 << "\" y2=\"" << y << "\" class=\"" << cls
        << "\" marker-end=\"" << marker << "\"/>";
    }
    const int label_x = (x1 + x2) / 2;
    s << "<a href=\"#flow-" << step.flow << "\"><text x=\"" << label_x << "\" y=\"" << y - 6
      << "\" text-anchor=\"middle\" class=\"" << (step.is_error ? "label err" : "label") << "\">#" << step.flow
      << " " << html_escape(truncate_label(step.label, 48)) << "</text></a>\n";
    y += kStepHeight;
  }
  s << "</svg>\n";
  return s.str();
}

std::string timeline_svg(const std::vector<FlowRow>& flows, size_t max_rows) {
  const size_t rows = std::min(flows.size(), max_rows);
  if (rows == 0) return "";
  int64_t t0 = flows[0].start_us, t1 = flows[0].start_us + std::max<int64_t>(flows[0].duration_us, 1);
  for (size_t i = 0; i < rows; ++i) {
    t0 = std::min(t0, flows[i].start_us);
    t1 = std::max(t1, flows[i].start_us + std::max<int64_t>(flows[i].duration_us, 1));
  }
  const double span = static_cast<double>(std::max<int64_t>(t1 - t0, 1));
  constexpr int kLeft = 60, kWidth = 900, kRow = 9;
  const int height = static_cast<int>(rows) * kRow + 40;
  std::ostringstream s;
  s << "<svg class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kLeft + kWidth + 20
    << "\" height=\"" << height << "\" viewBox=\"0 0 " << kLeft + kWidth + 20 << ' ' << height << "\">\n";
  // Axis with start and end labels (offsets in seconds from the first flow).
  s << "<line x1=\"" << kLeft << "\" y1=\"20\" x2=\"" << kLeft + kWidth << "\" y2=\"20\" class=\"axis\"/>";
  char buf[64];
  for (int tick = 0; tick <= 4; ++tick) {
    const int x = kLeft + kWidth * tick / 4;
    std::snprintf(buf, sizeof buf, "+%.2fs", span * tick / 4 / 1e6);
    s << "<line x1=\"" << x << "\" y1=\"16\" x2=\"" << x << "\" y2=\"24\" class=\"axis\"/><text x=\"" << x
      << "\" y=\"12\" text-anchor=\"middle\" class=\"tick\">" << buf << "</text>";
  }
  s << "\n";
  for (size_t i = 0; i < rows; ++i) {
    const auto& f = flows[i];
    const double x = kLeft + kWidth * static_cast<double>(f.start_us - t0) / span;
    const double w = std::max(2.0, kWidth * static_cast<double>(std::max<int64_t>(f.duration_us, 1)) / span);
    const char* cls = !f.error.empty() || f.status >= 500 ? "bar fail"
                      : f.status >= 400                   ? "bar warn"
                      : f.kind == "tunnel"                ? "bar tunnel"
                                                          : "bar ok";
    const int y = 28 + static_cast<int>(i) * kRow;
    std::snprintf(buf, sizeof buf, "%.1f", x);
    s << "<a href=\"#flow-" << f.id << "\"><rect x=\"" << buf << "\" y=\"" << y << "\" width=\"";
    std::snprintf(buf, sizeof buf, "%.1f", w);
    s << buf << "\" height=\"" << kRow - 2 << "\" class=\"" << cls << "\"><title>#" << f.id << ' '
      << html_escape(f.method) << ' ' << html_escape(truncate_label(f.url, 120)) << " → "
      << (f.status ? std::to_string(f.status) : std::string("no response")) << "</title></rect></a>\n";
  }
  s << "</svg>\n";
  return s.str();
}

}  // namespace authscope
