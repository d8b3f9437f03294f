// CSV datasets: a header row naming the columns, then one example per line;
// the label column holds integer class labels, every other column a float
// feature. Deliberately strict (docs/datasets.md): no quoting, no spaces
// around numbers, no empty cells, so that one file has one meaning.

#include <algorithm>
#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "data/file_source.h"
#include "data/loaders.h"

namespace cairn::data::internal {
namespace {

constexpr char kSeparator = ',';
// A cell quoted in an error message is cut after this many characters.
constexpr size_t kQuotedCellCharsMax = 40;
constexpr size_t kColumnsMax = size_t{kFeaturesPerExampleMax} + 1;  // Features + the label.

// Splits text into lines at '\n', dropping one '\r' before it (CRLF files).
class LineReader {
 public:
  explicit LineReader(std::string_view text) : text_(text) {}

  // The next line, or nullopt at the end of the text. Line numbers are 1-based.
  std::optional<std::string_view> Next() {
    if (offset_ >= text_.size()) return std::nullopt;
    size_t end = text_.find('\n', offset_);
    if (end == std::string_view::npos) end = text_.size();
    std::string_view line = text_.substr(offset_, end - offset_);
    offset_ = end + 1;
    ++line_number_;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
  }

  // True if nothing but line breaks follows the current line.
  bool OnlyBlankLinesRemain() const {
    return offset_ >= text_.size() || text_.find_first_not_of("\r\n", offset_) == std::string_view::npos;
  }

  size_t line_number() const { return line_number_; }

 private:
  std::string_view text_;
  size_t offset_ = 0;
  size_t line_number_ = 0;
};

std::string Quote(std::string_view cell) {
  if (cell.size() <= kQuotedCellCharsMax) return "'" + std::string(cell) + "'";
  return "'" + std::string(cell.substr(0, kQuotedCellCharsMax)) + "...'";
}

// The cells of `line`, as views into it, stopping after cells_max + 1 (so
// that a line with too many cells is seen, without allocating for them all).
void SplitCells(std::string_view line, size_t cells_max, std::vector<std::string_view>* cells) {
  cells->clear();
  size_t begin = 0;
  while (cells->size() <= cells_max) {
    size_t end = line.find(kSeparator, begin);
    if (end == std::string_view::npos) {
      cells->push_back(line.substr(begin));
      return;
    }
    cells->push_back(line.substr(begin, end - begin));
    begin = end + 1;
  }
}

}  // namespace

Result<Dataset> LoadCsv(const std::string& path, const std::string& label_column) {
  if (path.empty()) return InvalidArgument("a CSV dataset needs a file (features_path)");
  if (label_column.empty()) {
    return InvalidArgument(path + ": a CSV dataset needs label_column, the name of its integer label column");
  }
  CAIRN_ASSIGN_OR_RETURN(FileSource source, FileSource::Open(path));
  CAIRN_ASSIGN_OR_RETURN(Bytes bytes, source.ReadAll());
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  LineReader lines(text);

  // The header row.
  std::optional<std::string_view> header_line = lines.Next();
  if (!header_line.has_value() || header_line->empty()) {
    return InvalidArgument(path + ": line 1 is empty; a CSV dataset starts with a header row naming its columns");
  }
  std::vector<std::string_view> names;
  SplitCells(*header_line, kColumnsMax, &names);
  if (names.size() > kColumnsMax) {
    return ResourceExhausted(path + ": more than " + std::to_string(kColumnsMax) + " columns (the limit)");
  }
  std::unordered_set<std::string_view> seen;
  size_t label_index = names.size();
  for (size_t c = 0; c < names.size(); ++c) {
    if (names[c].empty()) {
      return InvalidArgument(path + ": line 1, column " + std::to_string(c + 1) + ": empty column name");
    }
    if (!seen.insert(names[c]).second) {
      return InvalidArgument(path + ": line 1, column " + std::to_string(c + 1) + ": duplicate column name " +
                             Quote(names[c]));
    }
    if (names[c] == label_column) label_index = c;
  }
  if (label_index == names.size()) {
    return InvalidArgument(path + ": the header row has no column named " + Quote(label_column) + " (label_column)");
  }
  if (names.size() < 2) return InvalidArgument(path + ": no feature columns besides the label column");
  const size_t columns = names.size();
  const size_t features_per_example = columns - 1;

  Dataset dataset;
  dataset.feature_shape = {static_cast<int64_t>(features_per_example)};
  // One example per line break is a good guess for the allocation; a row
  // also takes at least two bytes per cell (a digit and a separator), which
  // bounds the guess by what the file can really hold.
  const size_t rows_guess = std::min<size_t>({static_cast<size_t>(std::count(text.begin(), text.end(), '\n')),
                                              text.size() / (2 * columns), size_t{kExamplesMax}});
  dataset.labels.reserve(rows_guess);
  dataset.features.reserve(rows_guess * features_per_example);

  std::vector<std::string_view> cells;  // Reused across rows.
  cells.reserve(columns);
  while (std::optional<std::string_view> line = lines.Next()) {
    // Built only for an error message.
    auto where_line = [&] { return path + ": line " + std::to_string(lines.line_number()); };
    if (line->empty()) {
      if (lines.OnlyBlankLinesRemain()) break;
      return InvalidArgument(where_line() + " is empty (blank lines are allowed only at the end)");
    }
    if (dataset.labels.size() == kExamplesMax) {
      return ResourceExhausted(path + ": more than " + std::to_string(kExamplesMax) + " examples (the limit)");
    }
    SplitCells(*line, columns, &cells);
    if (cells.size() > columns) {
      return InvalidArgument(where_line() + " has more cells than the " + std::to_string(columns) +
                             " of the header row");
    }
    if (cells.size() < columns) {
      return InvalidArgument(where_line() + " has " + std::to_string(cells.size()) + " cells, the header row has " +
                             std::to_string(columns));
    }
    for (size_t column = 0; column < columns; ++column) {
      const std::string_view cell = cells[column];
      const char* first = cell.data();
      const char* past = cell.data() + cell.size();
      auto where = [&] {
        return where_line() + ", column " + std::to_string(column + 1) + " (" + Quote(names[column]) + "): ";
      };
      if (column == label_index) {
        int64_t label = 0;
        auto [ptr, ec] = std::from_chars(first, past, label);
        if (ec == std::errc::result_out_of_range ||
            (ec == std::errc() && ptr == past && (label < 0 || label >= static_cast<int64_t>(kClassesMax)))) {
          return InvalidArgument(where() + "label " + Quote(cell) + " is outside [0, " + std::to_string(kClassesMax) +
                                 ")");
        }
        if (ec != std::errc() || ptr != past) {
          return InvalidArgument(where() + Quote(cell) + " is not an integer label");
        }
        dataset.labels.push_back(label);
      } else {
        float value = 0;
        auto [ptr, ec] = std::from_chars(first, past, value, std::chars_format::general);
        if (ec == std::errc::result_out_of_range) {
          return InvalidArgument(where() + Quote(cell) + " is out of the float32 range");
        }
        if (ec != std::errc() || ptr != past) return InvalidArgument(where() + Quote(cell) + " is not a number");
        if (!std::isfinite(value)) return InvalidArgument(where() + Quote(cell) + " is not a finite number");
        dataset.features.push_back(value);
      }
    }
  }
  CAIRN_RETURN_IF_ERROR(FinishDataset(path, &dataset));
  return dataset;
}

}  // namespace cairn::data::internal
