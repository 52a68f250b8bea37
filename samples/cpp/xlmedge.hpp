// xlmedge.hpp - a small RAII wrapper over the C API (include/xlmedge.h): the model closes itself,
// failures become xlmedge::error exceptions on the C++ side (none cross the C boundary).
#pragma once

#include <xlmedge.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace xlmedge {

// A failed call: the C status and the library's message.
class error : public std::runtime_error {
public:
    error(int32_t status, const std::string &message)
        : std::runtime_error(std::string(xlmedge_status_string(status)) + ": " + message), status_(status) {}
    int32_t status() const noexcept { return status_; }

private:
    int32_t status_;
};

inline void check(int32_t status) {
    if (status != XLMEDGE_OK)
        throw error(status, xlmedge_last_error());
}

struct candidate {
    int32_t input_index, mask_position, token;
    float logit;
    double score;
    std::string token_str;
};

// Version, ABI and SIMD path of the library, as JSON (callable before any model is open).
inline std::string runtime_info() { return xlmedge_info(); }

// One open model. Movable, not copyable; closed by the destructor. Calls are thread-safe.
class model {
public:
    explicit model(const std::string &path, int32_t threads = 0) {
        xlmedge_model_params params = xlmedge_model_default_params();
        params.threads = threads;
        xlmedge_model *m = nullptr;
        check(xlmedge_open_with_params(path.c_str(), &params, &m));
        handle_.reset(m);
    }

    // The model's geometry, languages and weight type.
    xlmedge_model_info info() const {
        xlmedge_model_info i{};
        i.size = sizeof i;
        check(xlmedge_get_model_info(handle_.get(), &i));
        return i;
    }

    // top_k candidates for every mask of text, masks in order.
    std::vector<candidate> fill_mask(const std::string &text, const std::string &lang, int32_t top_k = 5) const {
        std::vector<xlmedge_candidate> out(64 * static_cast<size_t>(top_k));
        int32_t count = 0;
        int32_t status = xlmedge_fill_mask(handle_.get(), text.c_str(), lang.c_str(), top_k, out.data(),
                                           static_cast<int32_t>(out.size()), &count);
        if (status == XLMEDGE_ERROR_BUFFER_TOO_SMALL) {  // top_k above 64 masks' worth: ask again with the size it said
            out.resize(static_cast<size_t>(count));
            status = xlmedge_fill_mask(handle_.get(), text.c_str(), lang.c_str(), top_k, out.data(), count, &count);
        }
        check(status);
        std::vector<candidate> result;
        result.reserve(static_cast<size_t>(count));
        for (int32_t i = 0; i < count; i++)
            result.push_back({out[i].input_index, out[i].mask_position, out[i].token, out[i].logit, out[i].score, out[i].token_str});
        return result;
    }

    std::string fill_mask_json(const std::string &text, const std::string &lang, int32_t top_k = 5) const {
        char *json = nullptr;
        check(xlmedge_fill_mask_json(handle_.get(), text.c_str(), lang.c_str(), top_k, &json));
        std::unique_ptr<char, decltype(&xlmedge_free)> owned(json, &xlmedge_free);
        return owned.get();
    }

    std::vector<int32_t> tokenize(const std::string &text, const std::string &lang) const {
        int32_t count = 0;
        int32_t status = xlmedge_tokenize(handle_.get(), text.c_str(), lang.c_str(), nullptr, 0, &count);
        if (status != XLMEDGE_ERROR_BUFFER_TOO_SMALL)
            check(status);
        std::vector<int32_t> ids(static_cast<size_t>(count));
        check(xlmedge_tokenize(handle_.get(), text.c_str(), lang.c_str(), ids.data(), count, &count));
        return ids;
    }

private:
    struct closer {
        void operator()(xlmedge_model *m) const noexcept { xlmedge_close(m); }
    };
    std::unique_ptr<xlmedge_model, closer> handle_;
};

}  // namespace xlmedge
