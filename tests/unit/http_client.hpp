// A tiny blocking HTTP/1.1 client over a socket to 127.0.0.1, for the hidden tests that talk to a
// live json-server (tests/backend/test_rest_profile.py). Test code only: nothing of the core.
#pragma once
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace pm_test {

struct HttpReply {
    int status = 0;  // 0: no answer (connection refused, closed, or timed out)
    std::string body;
};

inline HttpReply http_request(int port, const std::string& method, const std::string& path,
                              const std::vector<std::pair<std::string, std::string>>& headers, const std::string& body) {
    HttpReply r;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return r;
    timeval timeout{30, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) { ::close(fd); return r; }
    std::string text = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
    for (const auto& [k, v] : headers) text += k + ": " + v + "\r\n";
    if (!body.empty() || method == "POST" || method == "PUT") text += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    text += "\r\n" + body;
    for (size_t sent = 0; sent < text.size();) {
        ssize_t n = ::send(fd, text.data() + sent, text.size() - sent, 0);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
    }
    std::string in;
    char buf[4096];
    for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;) in.append(buf, static_cast<size_t>(n));
    ::close(fd);
    size_t sp = in.find(' ');
    if (sp != std::string::npos) r.status = std::atoi(in.c_str() + sp + 1);
    size_t head_end = in.find("\r\n\r\n");
    if (head_end == std::string::npos) return r;
    std::string head = in.substr(0, head_end), rest = in.substr(head_end + 4);
    if (head.find("Transfer-Encoding: chunked") != std::string::npos || head.find("transfer-encoding: chunked") != std::string::npos) {
        size_t at = 0;
        while (at < rest.size()) {
            size_t eol = rest.find("\r\n", at);
            if (eol == std::string::npos) break;
            size_t len = std::strtoul(rest.substr(at, eol - at).c_str(), nullptr, 16);
            if (len == 0) break;
            r.body += rest.substr(eol + 2, len);
            at = eol + 2 + len + 2;
        }
    } else {
        r.body = rest;
    }
    return r;
}

}  // namespace pm_test
