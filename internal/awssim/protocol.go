package awssim

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strconv"
)

// restResponse lets a REST operation choose status, headers and body. Body is
// JSON-encoded for REST-JSON services and XML-encoded (with XMLName or
// RootElement as the root) for REST-XML ones; Raw is sent as is.
type restResponse struct {
	Status      int
	Header      http.Header
	Body        any
	RootElement string
	Raw         []byte
}

func jsonUnmarshal(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	return d.Decode(v)
}

// decodeJSON decodes the JSON body into v (JSON and REST-JSON services).
func (r *request) decodeJSON(v any) error {
	if len(bytes.TrimSpace(r.Body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.Body, v); err != nil {
		return errBadRequest("SerializationException", "could not parse request body: %v", err)
	}
	return nil
}

func (s *Server) writeResult(w http.ResponseWriter, req *request, reqID string, out any) {
	svc := req.svc
	h := w.Header()
	h.Set("X-Amzn-Requestid", reqID)
	switch svc.Protocol {
	case protoJSON10, protoJSON11:
		h.Set("Content-Type", jsonContentType(svc.Protocol))
		writeJSON(w, http.StatusOK, out)
	case protoRPCv2CBOR:
		writeCBOR(w, http.StatusOK, out)
	case protoQuery:
		h.Set("Content-Type", "text/xml")
		var b bytes.Buffer
		b.WriteString(`<` + req.Op + `Response xmlns="` + svc.XMLNS + `">`)
		if out == nil {
			b.WriteString(`<` + req.Op + `Result/>`)
		} else {
			writeXMLElement(&b, req.Op+"Result", out)
		}
		b.WriteString(`<ResponseMetadata><RequestId>` + reqID + `</RequestId></ResponseMetadata>`)
		b.WriteString(`</` + req.Op + `Response>`)
		w.WriteHeader(http.StatusOK)
		w.Write(b.Bytes())
	case protoEC2:
		h.Set("Content-Type", "text/xml;charset=UTF-8")
		var b bytes.Buffer
		b.WriteString(xml.Header)
		b.WriteString(`<` + req.Op + `Response xmlns="` + svc.XMLNS + `"><requestId>` + reqID + `</requestId>`)
		if out != nil {
			b.Write(innerXML(out))
		}
		b.WriteString(`</` + req.Op + `Response>`)
		w.WriteHeader(http.StatusOK)
		w.Write(b.Bytes())
	case protoRESTJSON, protoRESTXML:
		rr, ok := out.(*restResponse)
		if !ok {
			rr = &restResponse{Body: out}
		}
		for k, vs := range rr.Header {
			h[k] = vs
		}
		status := rr.Status
		if status == 0 {
			status = http.StatusOK
		}
		switch {
		case rr.Raw != nil:
			w.WriteHeader(status)
			w.Write(rr.Raw)
		case rr.Body == nil:
			w.WriteHeader(status)
		case svc.Protocol == protoRESTJSON:
			h.Set("Content-Type", "application/json")
			writeJSON(w, status, rr.Body)
		default:
			h.Set("Content-Type", "application/xml")
			var b bytes.Buffer
			b.WriteString(xml.Header)
			if rr.RootElement != "" {
				writeXMLElement(&b, rr.RootElement, rr.Body)
			} else {
				enc := xml.NewEncoder(&b)
				enc.Encode(rr.Body)
			}
			w.WriteHeader(status)
			w.Write(b.Bytes())
		}
	}
}

func (s *Server) writeError(w http.ResponseWriter, req *request, reqID string, e *apiError) {
	h := w.Header()
	h.Set("X-Amzn-Requestid", reqID)
	status := e.Status
	if status == 0 {
		status = statusFor(e.Code)
	}
	switch req.svc.Protocol {
	case protoRPCv2CBOR:
		if req.svc.QueryCompatible {
			fault := "Sender"
			if status >= 500 {
				fault = "Receiver"
			}
			h.Set("X-Amzn-Query-Error", e.Code+";"+fault)
		}
		body := map[string]string{"__type": e.Code, "message": e.Message}
		for k, v := range e.Fields {
			body[k] = v
		}
		writeCBOR(w, status, body)
	case protoJSON10, protoJSON11, protoRESTJSON:
		if req.svc.Protocol == protoRESTJSON {
			h.Set("Content-Type", "application/json")
		} else {
			h.Set("Content-Type", jsonContentType(req.svc.Protocol))
		}
		h.Set("X-Amzn-Errortype", e.Code)
		body := map[string]string{"__type": e.Code, "message": e.Message}
		for k, v := range e.Fields {
			body[k] = v
		}
		writeJSON(w, status, body)
	case protoQuery:
		writeQueryErrorStatus(w, req.svc.XMLNS, reqID, e, status)
	case protoEC2:
		h.Set("Content-Type", "text/xml;charset=UTF-8")
		w.WriteHeader(status)
		var b bytes.Buffer
		b.WriteString(xml.Header + `<Response><Errors><Error><Code>`)
		xml.EscapeText(&b, []byte(e.Code))
		b.WriteString(`</Code><Message>`)
		xml.EscapeText(&b, []byte(e.Message))
		b.WriteString(`</Message></Error></Errors><RequestID>` + reqID + `</RequestID></Response>`)
		w.Write(b.Bytes())
	case protoRESTXML:
		h.Set("Content-Type", "application/xml")
		h.Set("X-Amz-Request-Id", reqID)
		w.WriteHeader(status)
		var b bytes.Buffer
		b.WriteString(xml.Header)
		if req.svc.XMLErrorWrapped {
			b.WriteString(`<ErrorResponse>`)
		}
		b.WriteString(`<Error><Code>`)
		xml.EscapeText(&b, []byte(e.Code))
		b.WriteString(`</Code><Message>`)
		xml.EscapeText(&b, []byte(e.Message))
		b.WriteString(`</Message>`)
		if req.svc.XMLErrorWrapped {
			b.WriteString(`</Error><RequestId>` + reqID + `</RequestId></ErrorResponse>`)
		} else {
			b.WriteString(`<RequestId>` + reqID + `</RequestId></Error>`)
		}
		w.Write(b.Bytes())
	}
}

func writeQueryError(w http.ResponseWriter, xmlns, reqID string, e *apiError) {
	if e == nil {
		e = errBadRequest("InvalidRequest", "unroutable request")
	}
	status := e.Status
	if status == 0 {
		status = statusFor(e.Code)
	}
	writeQueryErrorStatus(w, xmlns, reqID, e, status)
}

func writeQueryErrorStatus(w http.ResponseWriter, xmlns, reqID string, e *apiError, status int) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	typ := "Sender"
	if status >= 500 {
		typ = "Receiver"
	}
	var b bytes.Buffer
	b.WriteString(`<ErrorResponse`)
	if xmlns != "" {
		b.WriteString(` xmlns="` + xmlns + `"`)
	}
	b.WriteString(`><Error><Type>` + typ + `</Type><Code>`)
	xml.EscapeText(&b, []byte(e.Code))
	b.WriteString(`</Code><Message>`)
	xml.EscapeText(&b, []byte(e.Message))
	b.WriteString(`</Message></Error><RequestId>` + reqID + `</RequestId></ErrorResponse>`)
	w.Write(b.Bytes())
}

func jsonContentType(p protocol) string {
	if p == protoJSON10 {
		return "application/x-amz-json-1.0"
	}
	return "application/x-amz-json-1.1"
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	if v == nil {
		v = struct{}{}
	}
	b, err := json.Marshal(v)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// writeXMLElement encodes v as an element named name (v's own XMLName, if any,
// is overridden).
func writeXMLElement(b *bytes.Buffer, name string, v any) {
	enc := xml.NewEncoder(b)
	if err := enc.EncodeElement(v, xml.StartElement{Name: xml.Name{Local: name}}); err != nil {
		b.WriteString("<!-- encode error: " + err.Error() + " -->")
	}
	enc.Flush()
}

// innerXML encodes v's fields without an enclosing element, for EC2
// responses whose fields sit directly under <OpResponse>.
func innerXML(v any) []byte {
	var b bytes.Buffer
	writeXMLElement(&b, "x", v)
	out := b.Bytes()
	out = bytes.TrimPrefix(out, []byte("<x>"))
	out = bytes.TrimSuffix(out, []byte("</x>"))
	if bytes.Equal(out, []byte("<x/>")) {
		return nil
	}
	return out
}
