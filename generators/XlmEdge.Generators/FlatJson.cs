using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;

namespace XlmEdge.Generators;

/// <summary>Kind of a top-level JSON value.</summary>
internal enum JsonKind
{
    String,
    Number,
    True,
    False,
    Null,
    Object,
    Array,
}

/// <summary>One top-level member of a JSON object: its value and where the value starts in the text.</summary>
internal sealed class JsonMember(JsonKind kind, string text, int start, int length)
{
    public JsonKind Kind { get; } = kind;
    /// <summary>The decoded string for <see cref="JsonKind.String"/>, the literal for numbers, empty otherwise.</summary>
    public string Text { get; } = text;
    public int Start { get; } = start;
    public int Length { get; } = length;
}

/// <summary>Malformed JSON at <see cref="Offset"/>.</summary>
internal sealed class FlatJsonException(string message, int offset) : Exception(message)
{
    public int Offset { get; } = offset;
}

/// <summary>
/// A small strict JSON (RFC 8259) reader that returns the members of the top-level object.
/// Nested objects and arrays are validated and skipped, so a full Hugging Face config.json can be a
/// preset. Written by hand because System.Text.Json would have to ship inside the analyzer for the
/// netstandard2.0 compiler host.
/// </summary>
internal sealed class FlatJson
{
    private const int MaxDepth = 64;
    private readonly string _text;
    private int _at;

    private FlatJson(string text) => _text = text;

    /// <summary>The members of the top-level object in file order; a repeated key is an error.</summary>
    /// <exception cref="FlatJsonException">The text is not one JSON object.</exception>
    public static Dictionary<string, JsonMember> ParseObject(string text)
    {
        var reader = new FlatJson(text);
        reader.SkipWhitespace();
        if (reader.Peek() == '\uFEFF')
        {
            reader._at++;
            reader.SkipWhitespace();
        }
        var members = reader.ReadTopObject();
        reader.SkipWhitespace();
        if (reader._at != text.Length)
            throw new FlatJsonException("unexpected text after the top-level object", reader._at);
        return members;
    }

    private Dictionary<string, JsonMember> ReadTopObject()
    {
        var members = new Dictionary<string, JsonMember>(StringComparer.Ordinal);
        Expect('{', "the preset must be a JSON object");
        SkipWhitespace();
        if (Peek() == '}')
        {
            _at++;
            return members;
        }
        while (true)
        {
            SkipWhitespace();
            int keyStart = _at;
            if (Peek() != '"')
                throw new FlatJsonException("expected a member name in double quotes", _at);
            string key = ReadString();
            SkipWhitespace();
            Expect(':', "expected ':' after the member name");
            SkipWhitespace();
            int start = _at;
            var kind = ReadValue(depth: 1, out string text);
            if (members.ContainsKey(key))
                throw new FlatJsonException($"member '{key}' appears twice", keyStart);
            members.Add(key, new JsonMember(kind, text, start, _at - start));
            SkipWhitespace();
            char c = Next("expected ',' or '}'");
            if (c == '}')
                return members;
            if (c != ',')
                throw new FlatJsonException("expected ',' or '}'", _at - 1);
        }
    }

    private JsonKind ReadValue(int depth, out string text)
    {
        text = "";
        if (depth > MaxDepth)
            throw new FlatJsonException($"nesting deeper than {MaxDepth}", _at);
        char c = Peek();
        switch (c)
        {
            case '"':
                text = ReadString();
                return JsonKind.String;
            case '{':
                SkipContainer('{', '}', depth, keyed: true);
                return JsonKind.Object;
            case '[':
                SkipContainer('[', ']', depth, keyed: false);
                return JsonKind.Array;
            case 't':
                ReadLiteral("true");
                return JsonKind.True;
            case 'f':
                ReadLiteral("false");
                return JsonKind.False;
            case 'n':
                ReadLiteral("null");
                return JsonKind.Null;
            default:
                if (c == '-' || (c >= '0' && c <= '9'))
                {
                    text = ReadNumber();
                    return JsonKind.Number;
                }
                throw new FlatJsonException(_at < _text.Length ? $"unexpected character '{c}'" : "unexpected end of text", _at);
        }
    }

    private void SkipContainer(char open, char close, int depth, bool keyed)
    {
        Expect(open, $"expected '{open}'");
        SkipWhitespace();
        if (Peek() == close)
        {
            _at++;
            return;
        }
        while (true)
        {
            SkipWhitespace();
            if (keyed)
            {
                if (Peek() != '"')
                    throw new FlatJsonException("expected a member name in double quotes", _at);
                ReadString();
                SkipWhitespace();
                Expect(':', "expected ':' after the member name");
                SkipWhitespace();
            }
            ReadValue(depth + 1, out _);
            SkipWhitespace();
            char c = Next($"expected ',' or '{close}'");
            if (c == close)
                return;
            if (c != ',')
                throw new FlatJsonException($"expected ',' or '{close}'", _at - 1);
        }
    }

    private string ReadString()
    {
        Expect('"', "expected '\"'");
        var sb = new StringBuilder();
        while (true)
        {
            char c = Next("unterminated string");
            if (c == '"')
                return sb.ToString();
            if (c < ' ')
                throw new FlatJsonException("control character in a string", _at - 1);
            if (c != '\\')
            {
                sb.Append(c);
                continue;
            }
            char e = Next("unterminated escape");
            switch (e)
            {
                case '"': sb.Append('"'); break;
                case '\\': sb.Append('\\'); break;
                case '/': sb.Append('/'); break;
                case 'b': sb.Append('\b'); break;
                case 'f': sb.Append('\f'); break;
                case 'n': sb.Append('\n'); break;
                case 'r': sb.Append('\r'); break;
                case 't': sb.Append('\t'); break;
                case 'u':
                    if (_at + 4 > _text.Length
                        || !int.TryParse(_text.Substring(_at, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out int code))
                        throw new FlatJsonException("bad \\u escape", _at - 2);
                    sb.Append((char)code);
                    _at += 4;
                    break;
                default:
                    throw new FlatJsonException($"bad escape '\\{e}'", _at - 2);
            }
        }
    }

    private string ReadNumber()
    {
        int start = _at;
        if (Peek() == '-')
            _at++;
        if (Peek() == '0')
            _at++;
        else if (!ReadDigits())
            throw new FlatJsonException("expected a digit", _at);
        if (Peek() == '.')
        {
            _at++;
            if (!ReadDigits())
                throw new FlatJsonException("expected a digit after '.'", _at);
        }
        if (Peek() == 'e' || Peek() == 'E')
        {
            _at++;
            if (Peek() == '+' || Peek() == '-')
                _at++;
            if (!ReadDigits())
                throw new FlatJsonException("expected a digit in the exponent", _at);
        }
        return _text.Substring(start, _at - start);
    }

    private bool ReadDigits()
    {
        int start = _at;
        while (Peek() >= '0' && Peek() <= '9')
            _at++;
        return _at > start;
    }

    private void ReadLiteral(string literal)
    {
        if (string.CompareOrdinal(_text, _at, literal, 0, literal.Length) != 0)
            throw new FlatJsonException($"unexpected character '{_text[_at]}'", _at);
        _at += literal.Length;
    }

    private void SkipWhitespace()
    {
        while (_at < _text.Length && (_text[_at] == ' ' || _text[_at] == '\t' || _text[_at] == '\n' || _text[_at] == '\r'))
            _at++;
    }

    private char Peek() => _at < _text.Length ? _text[_at] : '\0';

    private char Next(string endMessage)
    {
        if (_at >= _text.Length)
            throw new FlatJsonException(endMessage, _at);
        return _text[_at++];
    }

    private void Expect(char c, string message)
    {
        if (Peek() != c)
            throw new FlatJsonException(message, _at);
        _at++;
    }
}
