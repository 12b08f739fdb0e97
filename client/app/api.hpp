// The embedding API's methods (docs/API.md) as one function over the App: a method name and JSON
// arguments in, a value or errors out. The web platform forwards polymark.js calls (shell/src/api.js) here.
#pragma once
#include "app/app.hpp"

#include <string_view>

namespace pm {

Expected<Json> call_api(App& app, std::string_view method, std::string_view args_json, double device_pixel_ratio);

}  // namespace pm
