// Fill the masks of a sentence through libxlmedge, with the RAII wrapper of xlmedge.hpp.
// usage: fill_mask_cpp MODEL.gguf LANG "TEXT with <special1>"
#include "xlmedge.hpp"

#include <cstdio>

int main(int argc, char **argv) {
    if (argc != 4) {
        std::fprintf(stderr, "usage: %s MODEL.gguf LANG TEXT\n", argv[0]);
        return 2;
    }
    try {
        std::printf("libxlmedge %s\n", xlmedge::runtime_info().c_str());
        xlmedge::model model(argv[1]);
        auto info = model.info();
        std::printf("model: weights %s, d=%d\n", info.weight_type, info.embedding_length);
        for (const auto &c : model.fill_mask(argv[3], argv[2]))
            std::printf("mask@%d %-16s score=%.4f\n", c.mask_position, c.token_str.c_str(), c.score);
        std::printf("%zu input ids\n", model.tokenize(argv[3], argv[2]).size());
        try {
            model.fill_mask("no mask here", argv[2]);
            return 1;
        } catch (const xlmedge::error &e) {
            std::printf("expected error: %s\n", e.what());
        }
    } catch (const xlmedge::error &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    return 0;
}
