// The text rules every CSV the converter reads follows (csv.cpp's rows, input_files.cpp's
// inputs by name): lines, comma-separated fields, header names, numbers.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mmoe::converter::csv {

// Without surrounding spaces and tabs.
std::string_view Trim(std::string_view s);
bool IsBlank(std::string_view line);
// Lines without their terminators; a final "\r" is dropped so "\r\n" files read the same.
std::vector<std::string_view> SplitLines(std::string_view text);
// A line's comma-separated fields, each trimmed.
std::vector<std::string_view> SplitFields(std::string_view line);
// A header field without its surrounding double quotes.
std::string HeaderName(std::string_view field);
// The field as a double, or nullopt when it is not entirely a number (a leading '+' allowed,
// out-of-range literals as +-HUGE_VAL or a signed zero).
std::optional<double> ParseNumber(std::string_view field);

}  // namespace mmoe::converter::csv
