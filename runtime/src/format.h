// printf into a std::string: the loaders' and graph checks' messages, formatted by one routine
// rather than by string concatenations at every check (this code runs once per model and is
// kept small). Messages longer than 319 characters are cut.
#pragma once

#include <cstdarg>
#include <string>

namespace mmoe {

std::string FormatV(const char* format, va_list args);
std::string Format(const char* format, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

}  // namespace mmoe
