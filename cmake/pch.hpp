// Precompiled header shared by every DCCS target: the heavy third-party headers only.
#pragma once
#include <caf/all.hpp>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>
