module github.com/zkobserver/zkobserver

go 1.26
