package s3blob_test

import (
	"testing"

	"github.com/trivium-game/trivium/services/s3blob"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		raw     string
		want    s3blob.Config
		wantErr bool
	}{
		{raw: "s3://avatars", want: s3blob.Config{Bucket: "avatars"}},
		{
			raw: "s3://trivium-test?endpoint=http://127.0.0.1:7070&path_style=1&region=eu-west-1&access_key=K&secret_key=S",
			want: s3blob.Config{Bucket: "trivium-test", Endpoint: "http://127.0.0.1:7070", PathStyle: true,
				Region: "eu-west-1", AccessKey: "K", SecretKey: "S"},
		},
		{raw: "s3://b?path_style=false", want: s3blob.Config{Bucket: "b"}},
		{raw: "s3://b?path_style=maybe", wantErr: true},
		{raw: "s3://b?endpoit=http://x", wantErr: true},
		{raw: "gs://b", wantErr: true},
		{raw: "s3:///no-bucket", wantErr: true},
		{raw: "s3://b/prefix", wantErr: true},
	}
	for _, tt := range tests {
		got, err := s3blob.ParseURL(tt.raw)
		if (err != nil) != tt.wantErr {
			t.Errorf("ParseURL(%q) error = %v, wantErr %v", tt.raw, err, tt.wantErr)
			continue
		}
		if !tt.wantErr && (got.Bucket != tt.want.Bucket || got.Endpoint != tt.want.Endpoint || got.Region != tt.want.Region ||
			got.PathStyle != tt.want.PathStyle || got.AccessKey != tt.want.AccessKey || got.SecretKey != tt.want.SecretKey) {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tt.raw, got, tt.want)
		}
	}
}

func TestNewRefusesHalfCredentials(t *testing.T) {
	if _, err := s3blob.New(t.Context(), s3blob.Config{Bucket: "b", AccessKey: "K"}); err == nil {
		t.Fatal("New accepted an access key without a secret key")
	}
}
