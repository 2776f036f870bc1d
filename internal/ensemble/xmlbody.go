package ensemble

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
)

// S3's request bodies are parsed strictly: a body the proxy could read one
// way and the store another (a repeated <Key>, an element in a foreign
// namespace, a DOCTYPE, text between elements) is refused as MalformedXML
// before it reaches the planner or the store, whatever S3 itself would make
// of it.

const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// xmlShape is what an element may hold: leaf elements hold text only;
// others hold the listed children, each at most max times (0: unbounded).
type xmlShape struct {
	leaf     bool
	children map[string]xmlChild
}

type xmlChild struct {
	shape    *xmlShape
	max      int
	required bool
}

// xmlNode is a parsed element: its text (leaves) or its children in order.
type xmlNode struct {
	name     string
	text     string
	children []*xmlNode
}

func (n *xmlNode) child(name string) *xmlNode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

var (
	leaf = &xmlShape{leaf: true}

	// DeleteObjects: <Delete><Object><Key/>[<VersionId/>…]</Object>…[<Quiet/>]</Delete>
	deleteShape = &xmlShape{children: map[string]xmlChild{
		"Object": {shape: &xmlShape{children: map[string]xmlChild{
			"Key": {shape: leaf, max: 1, required: true}, "VersionId": {shape: leaf, max: 1},
			"ETag": {shape: leaf, max: 1}, "LastModifiedTime": {shape: leaf, max: 1}, "Size": {shape: leaf, max: 1},
		}}},
		"Quiet": {shape: leaf, max: 1},
	}}

	// CompleteMultipartUpload: <CompleteMultipartUpload><Part><PartNumber/><ETag/>[checksums]</Part>…
	completeShape = &xmlShape{children: map[string]xmlChild{
		"Part": {shape: &xmlShape{children: map[string]xmlChild{
			"PartNumber": {shape: leaf, max: 1, required: true}, "ETag": {shape: leaf, max: 1, required: true},
			"ChecksumCRC32": {shape: leaf, max: 1}, "ChecksumCRC32C": {shape: leaf, max: 1},
			"ChecksumCRC64NVME": {shape: leaf, max: 1}, "ChecksumSHA1": {shape: leaf, max: 1},
			"ChecksumSHA256": {shape: leaf, max: 1},
		}}},
	}}
)

func malformedXML(why string) *s3Error {
	return &s3Error{Status: http.StatusBadRequest, Code: "MalformedXML",
		Message: "The XML you provided was not well-formed or did not validate against our published schema (lakegate: " + why + ")."}
}

// parseStrictXML parses body as one root element of the given shape.
func parseStrictXML(body []byte, root string, shape *xmlShape) (*xmlNode, *s3Error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	d.Strict = true
	var top *xmlNode
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, malformedXML("not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			if t.Target != "xml" || top != nil {
				return nil, malformedXML("processing instruction " + quote(t.Target))
			}
		case xml.Directive:
			return nil, malformedXML("a DOCTYPE or other directive")
		case xml.Comment:
		case xml.CharData:
			if len(bytes.TrimSpace(t)) > 0 {
				return nil, malformedXML("text outside the root element")
			}
		case xml.StartElement:
			if top != nil {
				return nil, malformedXML("more than one root element")
			}
			if t.Name.Local != root {
				return nil, malformedXML("the root element must be " + root)
			}
			n, e := parseElement(d, t, shape)
			if e != nil {
				return nil, malformedXML(e.Error())
			}
			top = n
		default:
			return nil, malformedXML("unexpected content")
		}
	}
	if top == nil {
		return nil, malformedXML("no root element")
	}
	return top, nil
}

type xmlErr string

func (e xmlErr) Error() string { return string(e) }

func checkName(n xml.Name, attrs []xml.Attr) error {
	if n.Space != "" && n.Space != s3Namespace {
		return xmlErr("element " + quote(n.Local) + " is in the foreign namespace " + quote(n.Space))
	}
	for _, a := range attrs {
		if a.Name.Space == "xmlns" || (a.Name.Space == "" && a.Name.Local == "xmlns") {
			continue
		}
		return xmlErr("element " + quote(n.Local) + " has the attribute " + quote(a.Name.Local))
	}
	return nil
}

func parseElement(d *xml.Decoder, start xml.StartElement, shape *xmlShape) (*xmlNode, error) {
	if err := checkName(start.Name, start.Attr); err != nil {
		return nil, err
	}
	n := &xmlNode{name: start.Name.Local}
	counts := map[string]int{}
	var text strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, xmlErr("not well-formed XML")
		}
		switch t := tok.(type) {
		case xml.EndElement:
			if shape.leaf {
				n.text = text.String()
			}
			for name, c := range shape.children {
				if c.required && counts[name] == 0 {
					return nil, xmlErr(quote(n.name) + " has no " + quote(name))
				}
			}
			return n, nil
		case xml.CharData:
			if shape.leaf {
				text.Write(t)
			} else if len(bytes.TrimSpace(t)) > 0 {
				return nil, xmlErr("text inside " + quote(n.name))
			}
		case xml.Comment:
		case xml.StartElement:
			c, ok := shape.children[t.Name.Local]
			if shape.leaf || !ok {
				return nil, xmlErr("unexpected element " + quote(t.Name.Local) + " in " + quote(n.name))
			}
			counts[t.Name.Local]++
			if c.max > 0 && counts[t.Name.Local] > c.max {
				return nil, xmlErr(quote(t.Name.Local) + " appears more than once in " + quote(n.name))
			}
			child, err := parseElement(d, t, c.shape)
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, child)
		default:
			return nil, xmlErr("unexpected content in " + quote(n.name))
		}
	}
}
