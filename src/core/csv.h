// CSV writing (RFC 4180): fields with commas, quotes or line breaks are quoted.
#pragma once

#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace photoatlas {

std::string csv_field(std::string_view value);
void write_csv_row(std::ostream& out, const std::vector<std::string>& fields);

// Parses CSV text (quoted fields with commas, doubled quotes and line breaks; CRLF or LF) into rows.
std::vector<std::vector<std::string>> parse_csv(std::string_view text);

}  // namespace photoatlas
