package trail

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Kind says what JSON type a leaf value had.
type Kind uint8

const (
	KindString Kind = iota
	KindNumber
	KindBool
	KindNull
)

// Field is one leaf of a record: its dotted path (array indexes dropped, so arrays are searched
// element-wise) and its value as text. A path repeats once per array element.
type Field struct {
	Path  string
	Value string
	Kind  Kind
}

// Event is one CloudTrail record decoded once into a flat list of leaves; every rule and filter
// matches on this form. An Event handed to a callback is only valid during the call (its strings
// point into reused buffers); use Clone to keep it.
type Event struct {
	Raw    []byte // the record's JSON text
	Fields []Field
	Key    string // the object (or file) it came from

	// Frequently used top-level fields, extracted during decoding.
	EventName, EventSource, EventTime, Account, Region, ErrorCode, SourceIP string
}

// Get returns the first value at path and whether the path exists (a JSON null exists).
func (e *Event) Get(path string) (string, bool) {
	for i := range e.Fields {
		if e.Fields[i].Path == path {
			return e.Fields[i].Value, true
		}
	}
	return "", false
}

// Clone returns a copy that owns its memory.
func (e *Event) Clone() *Event {
	c := &Event{Raw: append([]byte(nil), e.Raw...), Key: e.Key, Fields: make([]Field, len(e.Fields))}
	for i, f := range e.Fields {
		c.Fields[i] = Field{Path: strings.Clone(f.Path), Value: strings.Clone(f.Value), Kind: f.Kind}
	}
	c.fillCommon()
	return c
}

// Principal is the identity that made the call, as an ARN when CloudTrail recorded one.
func (e *Event) Principal() string {
	if v, ok := e.Get("userIdentity.arn"); ok && v != "" {
		return v
	}
	if v, ok := e.Get("userIdentity.principalId"); ok && v != "" {
		return v
	}
	v, _ := e.Get("userIdentity.type")
	return v
}

func (e *Event) fillCommon() {
	e.EventName, e.EventSource, e.EventTime, e.Account, e.Region, e.ErrorCode, e.SourceIP = "", "", "", "", "", "", ""
	for i := range e.Fields {
		f := &e.Fields[i]
		switch f.Path {
		case "eventName":
			e.EventName = f.Value
		case "eventSource":
			e.EventSource = f.Value
		case "eventTime":
			e.EventTime = f.Value
		case "recipientAccountId":
			e.Account = f.Value
		case "awsRegion":
			e.Region = f.Value
		case "errorCode":
			e.ErrorCode = f.Value
		case "sourceIPAddress":
			e.SourceIP = f.Value
		}
	}
}

// maxInterned bounds the path table: hostile logs could invent endless key names.
const maxInterned = 1 << 16

// pathNode is one interned JSON path; children are found by a linear scan that starts where
// the previous record's lookup succeeded, since consecutive records share their shape.
type pathNode struct {
	key  string
	path string
	kids []*pathNode
	hint int
}

func (n *pathNode) child(key []byte, d *decoder) *pathNode {
	k := len(n.kids)
	for i := 0; i < k; i++ {
		j := n.hint + i
		if j >= k {
			j -= k
		}
		if c := n.kids[j]; c.key == string(key) {
			n.hint = j + 1
			return c
		}
	}
	p := string(key)
	if n.path != "" {
		p = n.path + "." + p
	}
	c := &pathNode{key: string(key), path: p}
	if d.interned < maxInterned {
		d.interned++
		n.kids = append(n.kids, c)
	}
	return c
}

// decoder turns a log file's bytes into Events without allocating per record: paths are
// interned, string values without escapes point into the input, the rest into a reused arena.
type decoder struct {
	root     pathNode
	interned int
	arena    []byte
	keybuf   []byte
	ev       Event
	depth    int
}

func newDecoder() *decoder { return &decoder{} }

var errShape = errors.New(`not a CloudTrail log file: want {"Records": [...]}`)

// decodeFile walks {"Records":[...]} and calls fn for each record. Other top-level keys
// (CloudTrail-Digest files, S3 test files) are skipped.
func (d *decoder) decodeFile(b []byte, key string, fn func(*Event) error) (int, error) {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return 0, errShape
	}
	i++
	n := 0
	seen := false
	for {
		i = skipWS(b, i)
		if i < len(b) && b[i] == '}' {
			i++
			break
		}
		k, j, _, err := scanString(b, i)
		if err != nil {
			return n, err
		}
		i = skipWS(b, j)
		if i >= len(b) || b[i] != ':' {
			return n, syntaxErr(i)
		}
		i = skipWS(b, i+1)
		if k == "Records" {
			seen = true
			if i >= len(b) || b[i] != '[' {
				return n, errShape
			}
			i++
			for {
				i = skipWS(b, i)
				if i < len(b) && b[i] == ']' {
					i++
					break
				}
				if i >= len(b) || b[i] != '{' {
					return n, errShape
				}
				start := i
				d.arena = d.arena[:0]
				d.ev.Fields = d.ev.Fields[:0]
				d.depth = 0
				j, err := d.value(b, i, &d.root)
				if err != nil {
					return n, err
				}
				d.ev.Raw = b[start:j]
				d.ev.Key = key
				d.ev.fillCommon()
				n++
				if err := fn(&d.ev); err != nil {
					return n, err
				}
				i = skipWS(b, j)
				if i < len(b) && b[i] == ',' {
					i++
					continue
				}
				if i < len(b) && b[i] == ']' {
					i++
					break
				}
				return n, syntaxErr(i)
			}
		} else {
			j, err := skipValue(b, i, 0)
			if err != nil {
				return n, err
			}
			i = j
		}
		i = skipWS(b, i)
		if i < len(b) && b[i] == ',' {
			i++
			continue
		}
		if i < len(b) && b[i] == '}' {
			i++
			break
		}
		return n, syntaxErr(i)
	}
	if skipWS(b, i) != len(b) {
		return n, fmt.Errorf("trailing data after JSON at offset %d", i)
	}
	if !seen {
		return n, errShape
	}
	return n, nil
}

const maxDepth = 200

func syntaxErr(i int) error { return fmt.Errorf("invalid JSON at offset %d", i) }

func skipWS(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\n', '\r', '\t':
			i++
		default:
			return i
		}
	}
	return i
}

func (d *decoder) leaf(n *pathNode, v string, k Kind) {
	d.ev.Fields = append(d.ev.Fields, Field{Path: n.path, Value: v, Kind: k})
}

// value decodes the value at b[i] under the current path and returns the offset after it.
func (d *decoder) value(b []byte, i int, node *pathNode) (int, error) {
	if i >= len(b) {
		return i, syntaxErr(i)
	}
	switch c := b[i]; {
	case c == '{':
		d.depth++
		if d.depth > maxDepth {
			return i, errors.New("JSON nested too deeply")
		}
		i++
		i = skipWS(b, i)
		if i < len(b) && b[i] == '}' {
			d.depth--
			return i + 1, nil
		}
		for {
			i = skipWS(b, i)
			ks, ke, esc, err := rawString(b, i)
			if err != nil {
				return i, err
			}
			key := b[ks:ke]
			if esc {
				d.keybuf, err = unescape(d.keybuf[:0], key)
				if err != nil {
					return i, err
				}
				key = d.keybuf
			}
			kid := node.child(key, d)
			i = skipWS(b, ke+1)
			if i >= len(b) || b[i] != ':' {
				return i, syntaxErr(i)
			}
			i, err = d.value(b, skipWS(b, i+1), kid)
			if err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == '}' {
				d.depth--
				return i + 1, nil
			}
			return i, syntaxErr(i)
		}
	case c == '[':
		d.depth++
		if d.depth > maxDepth {
			return i, errors.New("JSON nested too deeply")
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == ']' {
			d.depth--
			return i + 1, nil
		}
		for {
			var err error
			i, err = d.value(b, skipWS(b, i), node)
			if err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == ']' {
				d.depth--
				return i + 1, nil
			}
			return i, syntaxErr(i)
		}
	case c == '"':
		s, e, esc, err := rawString(b, i)
		if err != nil {
			return i, err
		}
		if esc {
			start := len(d.arena)
			d.arena, err = unescape(d.arena, b[s:e])
			if err != nil {
				return i, err
			}
			seg := d.arena[start:]
			d.leaf(node, unsafe.String(unsafe.SliceData(seg), len(seg)), KindString)
		} else if e > s {
			d.leaf(node, unsafe.String(&b[s], e-s), KindString)
		} else {
			d.leaf(node, "", KindString)
		}
		return e + 1, nil
	case c == 't':
		if hasLit(b, i, "true") {
			d.leaf(node, "true", KindBool)
			return i + 4, nil
		}
	case c == 'f':
		if hasLit(b, i, "false") {
			d.leaf(node, "false", KindBool)
			return i + 5, nil
		}
	case c == 'n':
		if hasLit(b, i, "null") {
			d.leaf(node, "", KindNull)
			return i + 4, nil
		}
	case c == '-' || (c >= '0' && c <= '9'):
		j := i + 1
		for j < len(b) {
			c := b[j]
			if (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-' {
				j++
				continue
			}
			break
		}
		d.leaf(node, unsafe.String(&b[i], j-i), KindNumber)
		return j, nil
	}
	return i, syntaxErr(i)
}

func hasLit(b []byte, i int, lit string) bool {
	return len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit
}

// rawString finds the string starting at b[i] ('"'); it returns the content bounds and whether
// it has escapes. It looks at 8 bytes at a time for a quote, a backslash or a control character
// (invalid in JSON strings; rejecting them keeps raw events safe to print and re-parse).
func rawString(b []byte, i int) (start, end int, esc bool, err error) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false, syntaxErr(i)
	}
	start = i + 1
	j := start
	for {
		for j+8 <= len(b) {
			x := binary.LittleEndian.Uint64(b[j:])
			if m := hasByte(x, '"') | hasByte(x, '\\') | hasLess(x, 0x20); m != 0 {
				j += bits.TrailingZeros64(m) >> 3
				break
			}
			j += 8
		}
		for j < len(b) && b[j] != '"' && b[j] != '\\' && b[j] >= 0x20 {
			j++
		}
		if j >= len(b) {
			return 0, 0, false, errors.New("unterminated JSON string")
		}
		switch b[j] {
		case '"':
			return start, j, esc, nil
		case '\\':
			esc = true
			j += 2
		default:
			return 0, 0, false, fmt.Errorf("control character in JSON string at offset %d", j)
		}
	}
}

const lsb, msb = 0x0101010101010101, 0x8080808080808080

// hasLess sets the high bit of (at least the lowest) byte of x below n (n ≤ 128).
func hasLess(x uint64, n byte) uint64 {
	return (x - lsb*uint64(n)) &^ x & msb
}

// hasByte sets the high bit of each byte of x equal to c; the lowest set bit is exact.
func hasByte(x uint64, c byte) uint64 {
	y := x ^ (lsb * uint64(c))
	return (y - lsb) &^ y & msb
}

// scanString returns a string's decoded value (allocating) and the offset after it.
func scanString(b []byte, i int) (string, int, bool, error) {
	s, e, esc, err := rawString(b, i)
	if err != nil {
		return "", i, false, err
	}
	if !esc {
		return string(b[s:e]), e + 1, false, nil
	}
	u, err := unescape(nil, b[s:e])
	return string(u), e + 1, true, err
}

func unescape(dst, s []byte) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			dst = append(dst, c)
			continue
		}
		i++
		if i >= len(s) {
			return dst, errors.New("bad escape")
		}
		switch s[i] {
		case '"', '\\', '/':
			dst = append(dst, s[i])
		case 'b':
			dst = append(dst, '\b')
		case 'f':
			dst = append(dst, '\f')
		case 'n':
			dst = append(dst, '\n')
		case 'r':
			dst = append(dst, '\r')
		case 't':
			dst = append(dst, '\t')
		case 'u':
			if i+5 > len(s) {
				return dst, errors.New("bad \\u escape")
			}
			r, err := strconv.ParseUint(string(s[i+1:i+5]), 16, 32)
			if err != nil {
				return dst, errors.New("bad \\u escape")
			}
			i += 4
			ru := rune(r)
			if ru >= 0xD800 && ru < 0xDC00 && i+6 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if r2, err := strconv.ParseUint(string(s[i+3:i+7]), 16, 32); err == nil && r2 >= 0xDC00 && r2 < 0xE000 {
					ru = 0x10000 + (ru-0xD800)<<10 + (rune(r2) - 0xDC00)
					i += 6
				}
			}
			dst = utf8.AppendRune(dst, ru)
		default:
			return dst, errors.New("bad escape")
		}
	}
	return dst, nil
}

// skipValue validates and skips any JSON value.
func skipValue(b []byte, i, depth int) (int, error) {
	if depth > maxDepth {
		return i, errors.New("JSON nested too deeply")
	}
	i = skipWS(b, i)
	if i >= len(b) {
		return i, syntaxErr(i)
	}
	switch c := b[i]; {
	case c == '{' || c == '[':
		closer := byte('}')
		if c == '[' {
			closer = ']'
		}
		i = skipWS(b, i+1)
		if i < len(b) && b[i] == closer {
			return i + 1, nil
		}
		for {
			if c == '{' {
				_, e, _, err := rawString(b, skipWS(b, i))
				if err != nil {
					return i, err
				}
				i = skipWS(b, e+1)
				if i >= len(b) || b[i] != ':' {
					return i, syntaxErr(i)
				}
				i++
			}
			var err error
			i, err = skipValue(b, i, depth+1)
			if err != nil {
				return i, err
			}
			i = skipWS(b, i)
			if i < len(b) && b[i] == ',' {
				i++
				continue
			}
			if i < len(b) && b[i] == closer {
				return i + 1, nil
			}
			return i, syntaxErr(i)
		}
	case c == '"':
		_, e, _, err := rawString(b, i)
		return e + 1, err
	default:
		var d decoder
		return d.value(b, i, &d.root)
	}
}
